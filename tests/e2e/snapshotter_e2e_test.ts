/**
 * `coco-host snapshotter` as a real containerd 1.6 `proxy_plugins` snapshotter. Each test starts
 * a private docker-registry, the snapshotter (child process) and a private containerd (own root,
 * state and sockets in a temporary directory, stopped by PID), pushes a two-layer image built
 * with umoci, and checks what containerd really sends:
 *
 * - `ctr images pull` (1.6 `image.Unpack`) sends no label at all and downloads every blob first:
 *   with the default policy the layers are unpacked on the host and `ctr run` with runc works;
 *   with `--unlabelled-layers refuse` the pull fails with a message saying why;
 * - a pull through containerd's CRI ImageService (as kubelet does) sends
 *   `containerd.io/snapshot.ref` plus the `cri.*` labels: the layers are committed empty, no
 *   layer blob reaches containerd's content store, no file reaches the snapshotter root, the
 *   container snapshot is one `fuse.nydus-overlayfs` mount whose `io.katacontainers.volume` names
 *   the image, and containerd's GC removes everything after the image is deleted;
 * - CRI with `disable_snapshot_annotations = true` sends only `containerd.io/snapshot.ref`: guest
 *   pull still works with `--unlabelled-layers guest-pull`, and `refuse` fails the pull.
 *
 * Longer than most files: one fixture (registry, image, snapshotter, containerd, CRI client)
 * shared by five scenarios.
 */
import assert from "node:assert/strict";
import { findPeers, isRoot, requireAlso, skipUnless } from "../peers.ts";
import { startDeno, type Started } from "../harness.ts";
import { criPull } from "./_cri.ts";
import {
  buildWithUmoci,
  type RealRegistry,
  run,
  startRegistry,
} from "../../guest/image/_testing/real_registry.ts";
import { snapshots } from "@coco/lib/proto";
import {
  DUMMY_IMAGE_REFERENCE,
  LABEL_CRI_IMAGE_REF,
  LABEL_CRI_LAYER_DIGEST,
  LABEL_GUEST_PULL,
  LABEL_SNAPSHOT_REF,
  parseGuestPullMount,
  SnapshotsClient,
} from "../../host/snapshotter/mod.ts";

const peers = requireAlso(
  findPeers("containerd", "ctr", "runc", "docker-registry", "skopeo", "umoci", "busybox"),
  isRoot(),
  "needs root (containerd, runc, overlay mounts)",
);
const HOST_MAIN = new URL("../../host/main.ts", import.meta.url).pathname;
const HELPER = new URL("../../host/snapshotter/nydus-overlayfs", import.meta.url).pathname;
const MARKER = "layer-two-marker-7d41";

interface Stack {
  dir: string;
  registry: RealRegistry;
  image: string;
  layerDigests: string[];
  snapRoot: string;
  snapSocket: string;
  ctrdRoot: string;
  ctrdSocket: string;
  ctr(args: string[], ns?: string): Promise<{ ok: boolean; out: string; err: string }>;
}

async function buildImage(dir: string, registry: RealRegistry): Promise<[string, string[]]> {
  const busybox = peers.paths.busybox!;
  const src = await buildWithUmoci(peers.paths.umoci!, `${dir}/layout`, "v1", [
    async (root) => {
      await Deno.mkdir(`${root}/bin`, { recursive: true });
      await Deno.copyFile(busybox, `${root}/bin/busybox`);
      await Deno.chmod(`${root}/bin/busybox`, 0o755);
      for (const t of ["sh", "cat", "echo"]) await Deno.symlink("busybox", `${root}/bin/${t}`);
    },
    async (root) => {
      await Deno.mkdir(`${root}/etc`, { recursive: true });
      await Deno.writeTextFile(`${root}/etc/marker`, MARKER);
    },
  ], ["--config.cmd", "/bin/cat", "--config.cmd", "/etc/marker"]);
  const image = `${registry.host}/snap/test:1`;
  await run(peers.paths.skopeo!, ["copy", "--dest-tls-verify=false", src, `docker://${image}`]);
  const index = JSON.parse(await Deno.readTextFile(`${dir}/layout/index.json`));
  const manifestDigest: string = index.manifests[0].digest;
  const manifest = JSON.parse(
    await Deno.readTextFile(`${dir}/layout/blobs/sha256/${manifestDigest.slice(7)}`),
  );
  return [image, manifest.layers.map((l: { digest: string }) => l.digest)];
}

function containerdConfig(
  dir: string,
  snapSocket: string,
  registryHost: string,
  criAnnotations: boolean,
): string {
  return `version = 2
root = "${dir}/ctrd/root"
state = "${dir}/ctrd/state"
[grpc]
  address = "${dir}/ctrd/containerd.sock"
[ttrpc]
  address = "${dir}/ctrd/containerd.sock.ttrpc"
[debug]
  address = "${dir}/ctrd/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/ctrd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/ctrd/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "coco"
    disable_snapshot_annotations = ${!criAnnotations}
    discard_unpacked_layers = false
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."${registryHost}"]
    endpoint = ["http://${registryHost}"]
[proxy_plugins]
  [proxy_plugins.coco]
    type = "snapshot"
    address = "${snapSocket}"
`;
}

async function startContainerd(
  config: string,
): Promise<{ child: Deno.ChildProcess; log: string[] }> {
  const child = new Deno.Command(peers.paths.containerd!, {
    args: ["--config", config],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/containerd successfully booted/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`containerd exited before it was ready:\n${text}`);
    text += value;
  }
  log.push(text);
  (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      log.push(value);
    }
  })();
  return { child, log };
}

async function withStack(
  policy: "overlay" | "guest-pull" | "refuse",
  fn: (s: Stack) => Promise<void>,
  criAnnotations = true,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "coco-snap-e2e-" });
  let registry: RealRegistry | undefined;
  let snap: Started | undefined;
  let ctrd: { child: Deno.ChildProcess; log: string[] } | undefined;
  try {
    registry = await startRegistry(peers.paths["docker-registry"]!, `${dir}/registry`);
    const [image, layerDigests] = await buildImage(dir, registry);
    const snapSocket = `${dir}/snap.sock`;
    const snapRoot = `${dir}/snap-root`;
    snap = await startDeno({
      args: [
        "run",
        "-A",
        HOST_MAIN,
        "snapshotter",
        "--socket",
        snapSocket,
        "--root",
        snapRoot,
        "--unlabelled-layers",
        policy,
        "--log-level",
        "debug",
      ],
      ready: /snapshotter listening on/,
      name: "coco-host snapshotter",
    });
    await Deno.mkdir(`${dir}/ctrd`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/ctrd/config.toml`,
      containerdConfig(dir, snapSocket, registry.host, criAnnotations),
    );
    ctrd = await startContainerd(`${dir}/ctrd/config.toml`);
    const ctrdSocket = `${dir}/ctrd/containerd.sock`;
    // ctr mounts the rootfs on the host (WithAdditionalGIDs): it needs the mount helper.
    await Deno.mkdir(`${dir}/bin`);
    await Deno.symlink(HELPER, `${dir}/bin/nydus-overlayfs`);
    const path = `${dir}/bin:${Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`;
    const ctr = async (args: string[], ns = "default") => {
      const out = await new Deno.Command(peers.paths.ctr!, {
        args: ["-a", ctrdSocket, "-n", ns, ...args],
        env: { PATH: path },
        stdin: "null",
      }).output();
      const d = new TextDecoder();
      return { ok: out.success, out: d.decode(out.stdout), err: d.decode(out.stderr) };
    };
    try {
      await fn({
        dir,
        registry,
        image,
        layerDigests,
        snapRoot,
        snapSocket,
        ctrdRoot: `${dir}/ctrd/root`,
        ctrdSocket,
        ctr,
      });
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\n--- snapshotter ---\n${snap.log()}\n--- containerd ---\n` +
          ctrd.log.join("").slice(-6000),
        { cause: err },
      );
    }
  } finally {
    if (ctrd) {
      ctrd.child.kill("SIGTERM");
      await ctrd.child.status;
    }
    await snap?.stop();
    await registry?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Regular files under `dir` (recursively), as paths relative to it. */
async function filesUnder(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await filesUnder(p, base));
    else out.push(p.slice(base.length + 1));
  }
  return out;
}

async function contentHas(s: Stack, digest: string): Promise<boolean> {
  try {
    await Deno.stat(
      `${s.ctrdRoot}/io.containerd.content.v1.content/blobs/sha256/${digest.slice(7)}`,
    );
    return true;
  } catch {
    return false;
  }
}

/** Every snapshot the snapshotter holds, straight from its socket. */
async function listSnapshots(s: Stack): Promise<snapshots.Info[]> {
  const client = new SnapshotsClient(s.snapSocket);
  try {
    return await client.list({});
  } finally {
    client.close();
  }
}

/** Options of the mount `ctr snapshots mounts` prints (`mount -t T S /target -o a,b,c`). */
function parseCtrMount(line: string): { type: string; source: string; options: string[] } {
  const m = line.trim().match(/^mount -t (\S+) (\S+) \S+ -o (\S+)$/);
  assert.ok(m, `unexpected ctr snapshots mounts output: ${line}`);
  return { type: m[1]!, source: m[2]!, options: m[3]!.split(",") };
}

/** The guest-pull flow both pull paths share: nothing on the host, the volume on the container. */
async function assertGuestPulled(s: Stack, ns: string): Promise<snapshots.Info[]> {
  for (const d of s.layerDigests) assert.ok(!(await contentHas(s, d)), `layer ${d} was fetched`);
  assert.deepEqual(await filesUnder(`${s.snapRoot}/snapshots`), [], "no file under the root");
  const layers = (await listSnapshots(s)).filter((i) => i.labels[LABEL_GUEST_PULL] === "true");
  assert.equal(layers.length, 2, "one empty committed snapshot per layer");
  const create = await s.ctr(["containers", "create", "--snapshotter", "coco", s.image, "c1"], ns);
  assert.ok(create.ok, create.err);
  const mounts = await s.ctr(["snapshots", "--snapshotter", "coco", "mounts", "/mnt", "c1"], ns);
  assert.ok(mounts.ok, mounts.err);
  const mount = parseCtrMount(mounts.out);
  assert.equal(mount.type, "fuse.nydus-overlayfs");
  const volume = parseGuestPullMount(mount);
  assert.ok(volume?.image_pull, "the container mount carries an image_guest_pull volume");
  assert.ok(volume.image_pull.metadata[LABEL_SNAPSHOT_REF]?.startsWith("sha256:"));
  assert.deepEqual(await filesUnder(`${s.snapRoot}/snapshots`), [], "container dirs are empty");
  return layers;
}

/** Deleting the container and the image lets containerd's GC remove every snapshot. */
async function assertRemovedByGc(s: Stack, ns: string): Promise<void> {
  const rm = await s.ctr(["containers", "rm", "c1"], ns);
  assert.ok(rm.ok, rm.err);
  const names = (await s.ctr(["images", "ls", "-q"], ns)).out.split("\n").filter(Boolean);
  const rmi = await s.ctr(["images", "rm", "--sync", ...names], ns);
  assert.ok(rmi.ok, rmi.err);
  assert.deepEqual((await listSnapshots(s)).map((i) => i.name), []);
}

Deno.test({
  name: "ctr 1.6 pull (no labels at all) unpacks on the host by default and runc runs it",
  ...skipUnless(peers, "snapshotter e2e overlay"),
  fn: () =>
    withStack("overlay", async (s) => {
      const pull = await s.ctr([
        "images",
        "pull",
        "--plain-http",
        "--snapshotter",
        "coco",
        s.image,
      ]);
      assert.ok(pull.ok, pull.err);
      const committed = (await listSnapshots(s)).filter((i) => i.kind === snapshots.Kind.COMMITTED);
      assert.equal(committed.length, 2, "both layers unpacked and committed by containerd");
      assert.ok(committed.every((i) => i.labels[LABEL_GUEST_PULL] === undefined));
      for (const d of s.layerDigests) assert.ok(await contentHas(s, d), `layer ${d} was fetched`);
      const all = await filesUnder(`${s.snapRoot}/snapshots`);
      assert.ok(all.some((f) => f.endsWith("fs/etc/marker")), `unpacked files: ${all.join(",")}`);
      const runOut = await s.ctr(["run", "--rm", "--snapshotter", "coco", s.image, "t-overlay"]);
      assert.ok(runOut.ok, runOut.err);
      assert.equal(runOut.out.trim(), MARKER);
    }),
});

Deno.test({
  name: "ctr 1.6 pull with --unlabelled-layers refuse fails and says why",
  ...skipUnless(peers, "snapshotter e2e ctr refuse"),
  fn: () =>
    withStack("refuse", async (s) => {
      const pull = await s.ctr([
        "images",
        "pull",
        "--plain-http",
        "--snapshotter",
        "coco",
        s.image,
      ]);
      assert.equal(pull.ok, false, `pull succeeded:\n${pull.out}\n${pull.err}`);
      assert.match(pull.err, /without the containerd\.io\/snapshot\.ref label/);
      assert.deepEqual(await listSnapshots(s), []);
      assert.deepEqual(await filesUnder(`${s.snapRoot}/snapshots`), []);
    }),
});

Deno.test({
  name: "a CRI PullImage carries cri.* labels and is pulled in the guest with the image ref",
  ...skipUnless(peers, "snapshotter e2e CRI"),
  fn: () =>
    withStack("overlay", async (s) => {
      await criPull(s.ctrdSocket, s.image);
      const layers = await assertGuestPulled(s, "k8s.io");
      for (const l of layers) {
        assert.equal(l.labels[LABEL_SNAPSHOT_REF], l.name);
        assert.equal(l.labels[LABEL_CRI_IMAGE_REF], s.image);
        assert.ok(s.layerDigests.includes(l.labels[LABEL_CRI_LAYER_DIGEST]!));
      }
      const mounts = await s.ctr(
        ["snapshots", "--snapshotter", "coco", "mounts", "/mnt", "c1"],
        "k8s.io",
      );
      const volume = parseGuestPullMount(parseCtrMount(mounts.out));
      assert.equal(volume?.source, s.image);
      await assertRemovedByGc(s, "k8s.io");
    }),
});

Deno.test({
  name:
    "CRI without snapshot annotations sends only snapshot.ref; guest-pull policy keeps it off the host",
  ...skipUnless(peers, "snapshotter e2e CRI no annotations"),
  fn: () =>
    withStack("guest-pull", async (s) => {
      await criPull(s.ctrdSocket, s.image);
      const layers = await assertGuestPulled(s, "k8s.io");
      for (const l of layers) {
        assert.equal(l.labels[LABEL_SNAPSHOT_REF], l.name);
        assert.equal(l.labels[LABEL_CRI_LAYER_DIGEST], undefined);
        assert.equal(l.labels[LABEL_CRI_IMAGE_REF], undefined);
      }
      const mounts = await s.ctr(
        ["snapshots", "--snapshotter", "coco", "mounts", "/mnt", "c1"],
        "k8s.io",
      );
      assert.equal(parseGuestPullMount(parseCtrMount(mounts.out))?.source, DUMMY_IMAGE_REFERENCE);
      await assertRemovedByGc(s, "k8s.io");
    }, false),
});

Deno.test({
  name: "CRI without snapshot annotations and --unlabelled-layers refuse fails the pull",
  ...skipUnless(peers, "snapshotter e2e CRI refuse"),
  fn: () =>
    withStack("refuse", async (s) => {
      await assert.rejects(
        criPull(s.ctrdSocket, s.image),
        /has no containerd\.io\/snapshot\/cri\.layer-digest label/,
      );
      assert.deepEqual(await listSnapshots(s), []);
      for (const d of s.layerDigests) {
        assert.ok(!(await contentHas(s, d)), `layer ${d} was fetched`);
      }
    }, false),
});
