/**
 * `scripts/install-host --prefix DIR`: installs under DIR only —
 *
 * - `bin/containerd-shim-coco-v2`: launcher running `lib/coco-host/containerd-shim-coco-v2.js shim`
 *   (the shim-only bundle; `coco-host.js shim` when dist/ has none) with deno,
 *   `COCO_SHIM_CONFIG` pointing at `etc/coco-host/config.toml`;
 * - `bin/coco-host-snapshotter`: launcher for `coco-host snapshotter` (socket and root under DIR
 *   unless given);
 * - `bin/coco-guest`: launcher for `coco-guest` (the `none` backend's local agent);
 * - `lib/coco-host/{coco-host.js,coco-guest.js,containerd-shim-coco-v2.js}` from `dist/` (built
 *   with `deno task build` when missing), `share/coco/guest/{vmlinuz,initrd.img}` from
 *   `dist/guest` when present;
 * - `etc/coco-host/config.toml` (kept when it exists, unless `--force`);
 *
 * Every launcher runs the single-file bundle (never the sources: no module graph to resolve) with
 * `DENO_DIR=var/cache/coco-host/deno` under DIR, so Deno's V8 code cache persists between runs
 * whatever HOME containerd gives its shims (start-up is pod start time: containerd runs the shim
 * three times per pod), `--no-config --no-lock` (no deno.json lookup from containerd's bundle
 * directory) and no update check. `COCO_DENO_FLAGS` adds flags (e.g. `--v8-flags=…`).
 *
 * then prints the containerd config.toml snippets (1.6 `version = 2`, 2.x `version = 3`).
 * Options: --dist DIR (default dist/), --deno PATH (default: this deno), --force.
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    prefix: { type: "string" },
    dist: { type: "string", default: "dist" },
    deno: { type: "string", default: Deno.execPath() },
    force: { type: "boolean", default: false },
  },
});

function fail(msg: string): never {
  console.error(`install-host: ${msg}`);
  Deno.exit(2);
}

if (!values.prefix) fail("--prefix DIR is required");
const prefix = resolve(values.prefix);
const dist = resolve(values.dist!);
const deno = values.deno!;
const sh = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

async function exists(p: string) {
  return await Deno.stat(p).then(() => true, () => false);
}

if (!(await exists(join(dist, "coco-host.js")))) {
  if (values.dist !== "dist") fail(`${dist}/coco-host.js not found`);
  const b = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "scripts/build.ts", "--bundle-only"],
  }).output();
  if (!b.success) fail("cannot build dist/coco-host.js (deno task build --bundle-only)");
}

const p = (...parts: string[]) => join(prefix, ...parts);
const libDir = p("lib", "coco-host");
const guestDir = p("share", "coco", "guest");
const configFile = p("etc", "coco-host", "config.toml");
const denoDir = p("var", "cache", "coco-host", "deno");
for (const d of [p("bin"), libDir, dirname(configFile), p("run"), p("var", "lib"), denoDir]) {
  await Deno.mkdir(d, { recursive: true });
}
await Deno.copyFile(join(dist, "coco-host.js"), join(libDir, "coco-host.js"));
// The shim-only bundle starts faster than `coco-host.js shim` (scripts/build.ts); older dist/
// directories may lack it, and then the launcher runs the full bundle.
const shimBundle = (await exists(join(dist, "containerd-shim-coco-v2.js")))
  ? "containerd-shim-coco-v2.js"
  : "coco-host.js";
if (shimBundle !== "coco-host.js") {
  await Deno.copyFile(join(dist, shimBundle), join(libDir, shimBundle));
}
const hasGuestBundle = await exists(join(dist, "coco-guest.js"));
if (hasGuestBundle) await Deno.copyFile(join(dist, "coco-guest.js"), join(libDir, "coco-guest.js"));
const hasImage = await exists(join(dist, "guest", "vmlinuz")) &&
  await exists(join(dist, "guest", "initrd.img"));
if (hasImage) {
  await Deno.mkdir(guestDir, { recursive: true });
  for (const f of ["vmlinuz", "initrd.img"]) {
    await Deno.copyFile(join(dist, "guest", f), join(guestDir, f));
  }
  // The dm-verity root filesystem disk and its parameters, when the image was built with one
  // (host/vm finds `rootfs.img` next to the initrd); a stale one from an older install goes.
  for (const f of ["rootfs.img", "rootfs.img.verity"]) {
    if (await exists(join(dist, "guest", f))) {
      await Deno.copyFile(join(dist, "guest", f), join(guestDir, f));
    } else await Deno.remove(join(guestDir, f)).catch(() => {});
  }
}

/** The launcher lines shared by every entry: code cache under DIR, no config lookup. */
const runBundle = (bundle: string) =>
  `export DENO_DIR="\${COCO_DENO_DIR:-${denoDir}}" DENO_NO_UPDATE_CHECK=1
# shellcheck disable=SC2086
exec ${sh(deno)} run -A --no-config --no-lock \${COCO_DENO_FLAGS:-} ${sh(join(libDir, bundle))}`;

const shim = p("bin", "containerd-shim-coco-v2");
await Deno.writeTextFile(
  shim,
  `#!/bin/sh
# containerd shim v2 for CoCo Deno (installed by scripts/install-host).
export COCO_SHIM_CONFIG="\${COCO_SHIM_CONFIG:-${configFile}}"
${runBundle(shimBundle)} shim "$@"
`,
  { mode: 0o755 },
);
const snap = p("bin", "coco-host-snapshotter");
await Deno.writeTextFile(
  snap,
  `#!/bin/sh
# coco proxy snapshotter (installed by scripts/install-host). Extra flags are passed through.
[ $# -eq 0 ] && set -- --socket ${sh(p("run", "snapshotter.sock"))} --root ${
    sh(p("var", "lib", "coco-snapshotter"))
  }
${runBundle("coco-host.js")} snapshotter "$@"
`,
  { mode: 0o755 },
);
const guest = p("bin", "coco-guest");
if (hasGuestBundle) {
  await Deno.writeTextFile(
    guest,
    `#!/bin/sh
# coco-guest (installed by scripts/install-host): the none backend's local agent, and tools.
${runBundle("coco-guest.js")} "$@"
`,
    { mode: 0o755 },
  );
}

if (values.force || !(await exists(configFile))) {
  await Deno.writeTextFile(
    configFile,
    `# Written by scripts/install-host; see host/config.example.toml for every key.
[shim]
runtime_dir = "/run/coco-host"
socket_dir = "/run/containerd/s"
force_guest_pull = true
local_agent_command = ${JSON.stringify([guest, "agent"])}

[hypervisor]
type = "qemu"
kernel = "${join(guestDir, "vmlinuz")}"
initrd = "${join(guestDir, "initrd.img")}"
`,
  );
}

console.log(`installed under ${prefix}:
  ${shim}
  ${snap}${hasGuestBundle ? `\n  ${guest}` : ""}
  ${libDir}/coco-host.js${hasGuestBundle ? `, coco-guest.js` : ""}${
  shimBundle !== "coco-host.js" ? `, ${shimBundle}` : ""
}
  ${
  hasImage ? `${guestDir}/{vmlinuz,initrd.img}` : "(no guest image: run scripts/build-guest-image)"
}
  ${configFile}

containerd 1.6 (/etc/containerd/config.toml, version = 2):

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.coco]
  runtime_type = "io.containerd.coco.v2"
  runtime_path = "${shim}"
  privileged_without_host_devices = true
  pod_annotations = ["io.katacontainers.*"]
[proxy_plugins.coco]
  type = "snapshot"
  address = "${p("run", "snapshotter.sock")}"

containerd 2.x (version = 3):

[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.coco]
  runtime_type = 'io.containerd.coco.v2'
  runtime_path = '${shim}'
  snapshotter = 'coco'
  pod_annotations = ['io.katacontainers.*']
[proxy_plugins.coco]
  type = 'snapshot'
  address = '${p("run", "snapshotter.sock")}'
`);
