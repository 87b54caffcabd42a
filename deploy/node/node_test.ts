/**
 * deploy/node: every manifest parses (npm:yaml) with a known kind; the RuntimeClass handler is the
 * runtime name the installer adds to containerd; the DaemonSet's volumes, ConfigMap key and
 * selector agree; and install.sh, run against a fake node in a temp dir, copies the install-host
 * output, keeps an existing shim config, prints the snippet, and merges it into containerd's
 * config exactly once (the merged config is valid TOML).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { parse as parseToml } from "smol-toml";

const here = new URL("./", import.meta.url).pathname;
type Obj = Record<string, unknown>;
const KINDS = new Set(["RuntimeClass", "Namespace", "ConfigMap", "DaemonSet"]);

async function docs(): Promise<Obj[]> {
  const out: Obj[] = [];
  for (const f of ["runtimeclass.yaml", "installer.yaml"]) {
    for (const d of parseAllDocuments(await Deno.readTextFile(join(here, f)))) {
      assert.deepEqual(d.errors, [], f);
      out.push(d.toJS() as Obj);
    }
  }
  return out;
}
const get = (o: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], o);

Deno.test("deploy/node manifests parse with known kinds and consistent references", async () => {
  const all = await docs();
  for (const d of all) assert.ok(KINDS.has(d.kind as string), `unknown kind ${d.kind}`);
  const rc = all.find((d) => d.kind === "RuntimeClass")!;
  assert.equal(rc.handler, "coco");
  const ns = all.find((d) => d.kind === "Namespace")!;
  const ds = all.find((d) => d.kind === "DaemonSet")!;
  const cm = all.find((d) => d.kind === "ConfigMap")!;
  assert.equal(get(ds, "metadata", "namespace"), get(ns, "metadata", "name"));
  assert.equal(get(cm, "metadata", "namespace"), get(ns, "metadata", "name"));
  assert.deepEqual(
    get(ds, "spec", "selector", "matchLabels"),
    get(ds, "spec", "template", "metadata", "labels"),
  );
  const spec = get(ds, "spec", "template", "spec") as Obj;
  const volumes = new Set((spec.volumes as Obj[]).map((v) => v.name));
  const containers = [...spec.initContainers as Obj[], ...spec.containers as Obj[]];
  for (const c of containers) {
    for (const m of (c.volumeMounts as Obj[] | undefined) ?? []) {
      assert.ok(volumes.has(m.name), `${c.name} mounts unknown volume ${m.name}`);
    }
    for (const e of (c.env as Obj[] | undefined) ?? []) {
      const ref = get(e, "valueFrom", "configMapKeyRef") as Obj | undefined;
      if (!ref) continue;
      assert.equal(ref.name, get(cm, "metadata", "name"));
      assert.ok(Object.hasOwn(cm.data as Obj, ref.key as string), `missing key ${ref.key}`);
    }
  }
  const init = (spec.initContainers as Obj[])[0]!;
  assert.deepEqual(init.command, ["/installer/install.sh"]);
  const containerfile = await Deno.readTextFile(join(here, "Containerfile"));
  assert.match(containerfile, /COPY deploy\/node\/install\.sh \/installer\/install\.sh/);
  assert.match(containerfile, /install_host\.ts --prefix \/opt\/coco/);
});

async function runInstaller(env: Record<string, string>) {
  const out = await new Deno.Command("sh", { args: [join(here, "install.sh")], env }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test("install.sh copies the host side, keeps the shim config and merges containerd once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "node-installer-" });
  try {
    const src = join(dir, "image/opt/coco");
    await Deno.mkdir(join(src, "bin"), { recursive: true });
    await Deno.mkdir(join(src, "etc/coco-host"), { recursive: true });
    await Deno.writeTextFile(join(src, "bin/containerd-shim-coco-v2"), "#!/bin/sh\n", {
      mode: 0o755,
    });
    await Deno.writeTextFile(join(src, "etc/coco-host/config.toml"), "# image default\n");
    const dst = join(dir, "node/opt/coco");
    await Deno.mkdir(join(dst, "etc/coco-host"), { recursive: true });
    await Deno.writeTextFile(join(dst, "etc/coco-host/config.toml"), "# operator's\n");
    const cfg = join(dir, "node/etc/containerd/config.toml");
    await Deno.mkdir(join(dir, "node/etc/containerd"), { recursive: true });
    await Deno.writeTextFile(cfg, 'version = 2\nroot = "/var/lib/containerd"\n');
    const env = {
      COCO_SOURCE: src,
      COCO_TARGET: dst,
      CONTAINERD_CONFIG: cfg,
      MERGE_CONTAINERD_CONFIG: "true",
    };
    const first = await runInstaller(env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /runtime_path = "\/opt\/coco\/bin\/containerd-shim-coco-v2"/);
    assert.ok((await Deno.stat(join(dst, "bin/containerd-shim-coco-v2"))).mode! & 0o100);
    assert.equal(await Deno.readTextFile(join(dst, "etc/coco-host/config.toml")), "# operator's\n");
    const second = await runInstaller(env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /already has the coco runtime; left unchanged/);
    const merged = parseToml(await Deno.readTextFile(cfg)) as Obj;
    assert.equal(merged.root, "/var/lib/containerd");
    const rt = get(
      merged,
      "plugins",
      "io.containerd.grpc.v1.cri",
      "containerd",
      "runtimes",
      "coco",
    );
    assert.equal(get(rt, "runtime_type"), "io.containerd.coco.v2");
    assert.equal(get(merged, "proxy_plugins", "coco", "address"), "/opt/coco/run/snapshotter.sock");
    assert.equal(
      await Deno.readTextFile(`${cfg}.bak-coco`),
      'version = 2\nroot = "/var/lib/containerd"\n',
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("install.sh refuses a source without the shim launcher and names it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "node-installer-" });
  try {
    const r = await runInstaller({ COCO_SOURCE: join(dir, "empty"), COCO_TARGET: join(dir, "t") });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /has no bin\/containerd-shim-coco-v2/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
