import assert from "node:assert/strict";
import { join } from "node:path";
import { agent, create, oci } from "@coco/lib/proto";
import { nullLogger } from "@coco/lib/log";
import { AgentPaths } from "../paths.ts";
import { OciRuntime } from "../runtime.ts";
import { Sandbox } from "../sandbox.ts";
import { specToOci } from "../oci_spec.ts";
import { addStorages } from "./handlers.ts";
import { parsePauseConfig } from "./pause_bundle.ts";
import type { ImagePuller, Mounter, StorageContext } from "./types.ts";

const noMounts: Mounter = {
  mount: () => Promise.reject(new Error("no mounts in this test")),
  umount: () => Promise.resolve(),
};

/** What scripts/guest_image writes (config.json of /pause_bundle). */
const PAUSE_CONFIG = {
  ociVersion: "1.0.2",
  process: {
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: ["/pause"],
    env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    cwd: "/",
    noNewPrivileges: true,
  },
  root: { path: "rootfs", readonly: true },
};

interface Fixture {
  ctx: StorageContext;
  base: string;
  bundle: string;
  pulls: string[];
}

async function withBundle(
  config: unknown,
  fn: (f: Fixture) => Promise<void>,
  binary: "file" | "symlink" | "none" = "file",
) {
  const tmp = await Deno.makeTempDir({ prefix: "pause-bundle-test-" });
  const base = join(tmp, "run");
  const bundle = join(tmp, "pause_bundle");
  await Deno.mkdir(join(bundle, "rootfs"), { recursive: true });
  await Deno.writeTextFile(
    join(bundle, "config.json"),
    typeof config === "string" ? config : JSON.stringify(config),
  );
  if (binary === "file") {
    await Deno.writeTextFile(join(bundle, "rootfs/pause"), "\x7fELF-pause", { mode: 0o4755 });
  } else if (binary === "symlink") await Deno.symlink("/etc/passwd", join(bundle, "rootfs/pause"));
  const pulls: string[] = [];
  const puller: ImagePuller = {
    pullImage(ref) {
      pulls.push(ref);
      return Promise.reject(new Error("no pulls in this test"));
    },
  };
  try {
    const ctx = {
      paths: new AgentPaths(base),
      mounter: noMounts,
      logger: nullLogger,
      puller,
      pauseBundle: bundle,
    };
    await fn({ ctx, base, bundle, pulls });
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

function pullStorage(base: string, cid: string, metadata: Record<string, string>) {
  return create(agent.StorageSchema, {
    driver: "image_guest_pull",
    source: "pause",
    fstype: "overlay",
    mountPoint: join(base, cid, "rootfs"),
    driverOptions: [`image_guest_pull=${JSON.stringify({ metadata })}`],
  });
}

const SANDBOX = { "io.kubernetes.cri.container-type": "sandbox" };

Deno.test("image_guest_pull of a CRI sandbox copies the pause binary and returns its process", async () => {
  await withBundle(PAUSE_CONFIG, async ({ ctx, base, pulls }) => {
    const [s] = await addStorages([pullStorage(base, "sb1", SANDBOX)], "sb1", ctx);
    assert.equal(s?.mountPoint, join(base, "sb1/rootfs"));
    assert.equal(await Deno.readTextFile(join(base, "sb1/rootfs/pause")), "\x7fELF-pause");
    const mode = (await Deno.stat(join(base, "sb1/rootfs/pause"))).mode! & 0o7777;
    assert.equal(mode, 0o755, "set-id bits are dropped from the copy");
    assert.deepEqual(s?.process, PAUSE_CONFIG.process);
    assert.deepEqual(pulls, [], "nothing is pulled for the sandbox");
    await s!.cleanup();
    assert.equal(await Deno.stat(join(base, "sb1/rootfs")).catch(() => undefined), undefined);
  });
});

Deno.test("image_guest_pull honours the CRI-O sandbox key and pulls ordinary containers", async () => {
  await withBundle(PAUSE_CONFIG, async ({ ctx, base, pulls }) => {
    const crio = { "io.kubernetes.cri-o.ContainerType": "sandbox" };
    const [s] = await addStorages([pullStorage(base, "sb2", crio)], "sb2", ctx);
    assert.equal(s?.process?.args[0], "/pause");
    const app = { "io.kubernetes.cri.container-type": "container" };
    await assert.rejects(addStorages([pullStorage(base, "c1", app)], "c1", ctx), /no pulls/);
    assert.deepEqual(pulls, ["pause"], "a container (not sandbox) goes to the image puller");
  });
});

Deno.test("image_guest_pull of a sandbox fails naming /pause_bundle when the guest has none", async () => {
  await withBundle(PAUSE_CONFIG, async ({ ctx, base, bundle }) => {
    await Deno.remove(bundle, { recursive: true });
    await assert.rejects(addStorages([pullStorage(base, "sb3", SANDBOX)], "sb3", ctx), (err) => {
      assert.equal((err as { code?: string }).code, "failed-precondition");
      assert.match((err as Error).message, /pause bundle .*config\.json is missing/);
      assert.ok((err as Error).message.includes(bundle));
      return true;
    });
    const { pauseBundle: _, ...without } = ctx;
    await assert.rejects(addStorages([pullStorage(base, "sb4", SANDBOX)], "sb4", without), {
      code: "failed-precondition",
      message: "Cannot create sandbox container sb4: the agent has no pause bundle configured",
    });
  });
});

Deno.test("usePauseBundle() refuses a binary that is a symlink or missing", async () => {
  for (const kind of ["symlink", "none"] as const) {
    await withBundle(PAUSE_CONFIG, async ({ ctx, base }) => {
      await assert.rejects(addStorages([pullStorage(base, "sb5", SANDBOX)], "sb5", ctx), {
        code: "failed-precondition",
      });
    }, kind);
  }
});

Deno.test("parsePauseConfig() rejects hostile or broken bundle configs", () => {
  const p = PAUSE_CONFIG.process;
  const cases: [string, unknown, RegExp][] = [
    ["not JSON", "{", /config\.json is not JSON/],
    ["no process", { ociVersion: "1" }, /no process object/],
    ["empty args", { process: { ...p, args: [] } }, /process\.args is empty/],
    ["relative binary", { process: { ...p, args: ["pause"] } }, /not a clean absolute path/],
    ["escaping binary", { process: { ...p, args: ["/../etc/x"] } }, /not a clean absolute/],
    ["relative cwd", { process: { ...p, cwd: "tmp" } }, /cwd is not absolute/],
    ["string uid", { process: { ...p, user: { uid: "0", gid: 0 } } }, /numeric uid and gid/],
    ["bad env", { process: { ...p, env: [1] } }, /env is not a list of strings/],
    ["bad terminal", { process: { ...p, terminal: "yes" } }, /terminal is not a boolean/],
    ["bad caps", { process: { ...p, capabilities: { all: ["X"] } } }, /capabilities\.all/],
  ];
  for (const [name, config, re] of cases) {
    const text = typeof config === "string" ? config : JSON.stringify(config);
    assert.throws(() => parsePauseConfig(text, "/pause_bundle"), (err) => {
      assert.equal((err as { code?: string }).code, "failed-precondition", name);
      assert.match((err as Error).message, re, name);
      assert.match((err as Error).message, /^Cannot use the guest pause bundle \/pause_bundle: /);
      return true;
    });
  }
  const min = parsePauseConfig(JSON.stringify({ process: { args: ["/pause"] } }), "/b");
  assert.deepEqual(min, {
    terminal: false,
    user: { uid: 0, gid: 0 },
    args: ["/pause"],
    env: [],
    cwd: "/",
  });
});

Deno.test("Sandbox.createContainer() writes the pause process over the sandbox spec's own", async () => {
  await withBundle(PAUSE_CONFIG, async ({ ctx, base }) => {
    // A runc stand-in: keeps the config.json it was given, then fails `create`.
    const seen = join(base, "..", "seen.json");
    const fakeRunc = join(base, "..", "fake-runc");
    await Deno.writeTextFile(
      fakeRunc,
      `#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = --bundle ] && cp "$2/config.json" ${seen}; shift; done\n` +
        `echo "fake runc: stop here" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    const sandbox = new Sandbox({
      paths: ctx.paths,
      runtime: new OciRuntime({ binary: fakeRunc, root: join(base, ".runc") }),
      storage: { mounter: ctx.mounter, logger: nullLogger, pauseBundle: ctx.pauseBundle! },
      processes: { wait: () => Promise.resolve(0), kill: () => {} },
      logger: nullLogger,
    });
    const spec = create(oci.SpecSchema, {
      Process: { Args: ["/bin/sh"], Env: ["SECRET=1"], Cwd: "/work", Terminal: true },
      Root: { Path: join(base, "sb6/rootfs"), Readonly: true },
      Annotations: SANDBOX,
    });
    await assert.rejects(
      sandbox.createContainer(create(agent.CreateContainerRequestSchema, {
        containerId: "sb6",
        OCI: spec,
        storages: [pullStorage(base, "sb6", SANDBOX)],
      })),
      { code: "internal", message: /fake runc: stop here/ },
    );
    const written = JSON.parse(await Deno.readTextFile(seen));
    assert.deepEqual(written.process, PAUSE_CONFIG.process);
    assert.equal(written.root.path, join(base, "sb6/rootfs"));
    assert.equal(written.root.readonly, true);
    assert.equal(await Deno.stat(join(base, "sb6")).catch(() => undefined), undefined);
  });
});

Deno.test("specToOci() keeps the hostname only with a UTS namespace (hostNetwork CRI pods)", () => {
  const withUts = create(oci.SpecSchema, {
    Hostname: "pod",
    Linux: { Namespaces: [{ Type: "uts" }, { Type: "mount" }] },
  });
  assert.equal(specToOci(withUts, "/r").hostname, "pod");
  // CRI drops the UTS namespace for hostNetwork pods but still sets a hostname: runc would
  // refuse ("unable to set hostname without a private UTS namespace").
  const hostUts = create(oci.SpecSchema, {
    Hostname: "node",
    Linux: { Namespaces: [{ Type: "ipc" }, { Type: "pid" }] },
  });
  assert.equal(specToOci(hostUts, "/r").hostname, undefined);
});
