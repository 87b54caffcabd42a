import assert from "node:assert/strict";
import { join } from "node:path";

const SCRIPT = new URL("./install-host", import.meta.url).pathname;

async function tree(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await tree(p, base));
    else out.push(p.slice(base.length + 1));
  }
  return out.sort();
}

Deno.test("install-host --prefix installs launchers, bundles, guest image and config only under DIR", async () => {
  const work = await Deno.makeTempDir();
  try {
    const dist = join(work, "dist");
    await Deno.mkdir(join(dist, "guest"), { recursive: true });
    // A stand-in bundle that echoes how it was called and which config it got.
    await Deno.writeTextFile(
      join(dist, "coco-host.js"),
      "console.log(JSON.stringify({ args: Deno.args, config: Deno.env.get('COCO_SHIM_CONFIG'), " +
        "denoDir: Deno.env.get('DENO_DIR') }));",
    );
    await Deno.writeTextFile(join(dist, "coco-guest.js"), "console.log(Deno.args.join(' '));");
    // The shim-only bundle, which the shim launcher prefers: it says which bundle ran.
    await Deno.writeTextFile(
      join(dist, "containerd-shim-coco-v2.js"),
      "console.log(JSON.stringify({ shimOnly: true, args: Deno.args, " +
        "config: Deno.env.get('COCO_SHIM_CONFIG'), denoDir: Deno.env.get('DENO_DIR') }));",
    );
    await Deno.writeTextFile(join(dist, "guest/vmlinuz"), "k");
    await Deno.writeTextFile(join(dist, "guest/initrd.img"), "i");
    await Deno.writeTextFile(join(dist, "guest/rootfs.img"), "r");
    await Deno.writeTextFile(join(dist, "guest/rootfs.img.verity"), "root_hash=…");
    const prefix = join(work, "prefix");
    const out = await new Deno.Command(SCRIPT, {
      args: ["--prefix", prefix, "--dist", dist, "--deno", Deno.execPath()],
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    assert.deepEqual(await tree(prefix), [
      "bin/coco-guest",
      "bin/coco-host-snapshotter",
      "bin/containerd-shim-coco-v2",
      "etc/coco-host/config.toml",
      "lib/coco-host/coco-guest.js",
      "lib/coco-host/coco-host.js",
      "lib/coco-host/containerd-shim-coco-v2.js",
      "share/coco/guest/initrd.img",
      "share/coco/guest/rootfs.img",
      "share/coco/guest/rootfs.img.verity",
      "share/coco/guest/vmlinuz",
    ]);
    assert.match(text, /runtime_type = "io.containerd.coco.v2"/);
    assert.match(text, /plugins.'io.containerd.cri.v1.runtime'/);
    const shim = join(prefix, "bin/containerd-shim-coco-v2");
    const run = await new Deno.Command(shim, { args: ["-namespace", "n", "-id", "x", "start"] })
      .output();
    const got = JSON.parse(new TextDecoder().decode(run.stdout));
    assert.equal(got.shimOnly, true);
    assert.deepEqual(got.args, ["shim", "-namespace", "n", "-id", "x", "start"]);
    assert.equal(got.config, join(prefix, "etc/coco-host/config.toml"));
    // Deno's code cache lives under the prefix, whatever HOME containerd passes.
    assert.equal(got.denoDir, join(prefix, "var/cache/coco-host/deno"));
    assert.ok((await Deno.stat(got.denoDir)).isDirectory);
    const guest = await new Deno.Command(join(prefix, "bin/coco-guest"), { args: ["agent", "-x"] })
      .output();
    assert.equal(new TextDecoder().decode(guest.stdout), "agent -x\n");
    // The written config is valid for the shim.
    const { loadShimConfig } = await import("../host/shim/config.ts");
    const cfg = await loadShimConfig(join(prefix, "etc/coco-host/config.toml"));
    assert.equal(cfg.hypervisor.kernel, join(prefix, "share/coco/guest/vmlinuz"));
    assert.deepEqual(cfg.localAgentCommand, [join(prefix, "bin/coco-guest"), "agent"]);
    // A second run keeps an edited config.
    await Deno.writeTextFile(join(prefix, "etc/coco-host/config.toml"), "# mine\n");
    const again = await new Deno.Command(SCRIPT, {
      args: ["--prefix", prefix, "--dist", dist, "--deno", Deno.execPath()],
    }).output();
    assert.ok(again.success);
    assert.equal(await Deno.readTextFile(join(prefix, "etc/coco-host/config.toml")), "# mine\n");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("install-host: without the shim-only bundle the shim launcher runs coco-host.js shim", async () => {
  const work = await Deno.makeTempDir();
  try {
    const dist = join(work, "dist");
    await Deno.mkdir(dist);
    await Deno.writeTextFile(
      join(dist, "coco-host.js"),
      "console.log(JSON.stringify({ bundle: 'coco-host.js', args: Deno.args }));",
    );
    const prefix = join(work, "prefix");
    const out = await new Deno.Command(SCRIPT, {
      args: ["--prefix", prefix, "--dist", dist, "--deno", Deno.execPath()],
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    assert.equal((await tree(prefix)).includes("lib/coco-host/containerd-shim-coco-v2.js"), false);
    const run = await new Deno.Command(join(prefix, "bin/containerd-shim-coco-v2"), {
      args: ["-id", "x", "delete"],
    }).output();
    assert.deepEqual(JSON.parse(new TextDecoder().decode(run.stdout)), {
      bundle: "coco-host.js",
      args: ["shim", "-id", "x", "delete"],
    });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
