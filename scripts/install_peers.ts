/**
 * Installs the real third-party peers the tests use (containerd, runc, QEMU, registry, skopeo,
 * swtpm, PostgreSQL, Redis, …) from Debian packages, when running as root with apt. Anything that
 * cannot be installed is reported; the tests that need it then report SKIPPED.
 *
 * Usage: deno run -A scripts/install_peers.ts [--check]
 *
 * @module
 */
import { which } from "../tests/peers.ts";

/** executable → Debian package that provides it. */
const PEERS: Record<string, string> = {
  containerd: "containerd",
  runc: "runc",
  crun: "crun",
  skopeo: "skopeo",
  "docker-registry": "docker-registry",
  umoci: "umoci",
  swtpm: "swtpm",
  swtpm_setup: "swtpm-tools",
  tpm2_quote: "tpm2-tools",
  "redis-server": "redis-server",
  initdb: "postgresql",
  cryptsetup: "cryptsetup-bin",
  veritysetup: "cryptsetup-bin",
  "qemu-system-x86_64": "qemu-system-x86",
  "qemu-img": "qemu-utils",
  busybox: "busybox-static",
  cpio: "cpio",
  "mkfs.ext4": "e2fsprogs",
  gpg: "gpg",
  // The guest image's /pause_bundle binary (gcc -static; libc.a comes from libc6-dev, below).
  gcc: "gcc",
};
// The Debian kernel for the guest image; no executable to look for.
const KERNEL_GLOB_DIR = "/boot";

function haveKernel(): boolean {
  try {
    for (const e of Deno.readDirSync(KERNEL_GLOB_DIR)) {
      if (e.name.startsWith("vmlinuz-")) return true;
    }
  } catch { /* no /boot */ }
  return false;
}

const missing = new Set<string>();
for (const [bin, pkg] of Object.entries(PEERS)) if (!which(bin)) missing.add(pkg);
if (!haveKernel()) missing.add("linux-image-amd64");
try {
  Deno.statSync("/usr/lib/x86_64-linux-gnu/libc.a");
} catch {
  missing.add("libc6-dev");
}

if (missing.size === 0) {
  console.log("peers: all installed");
  Deno.exit(0);
}
const list = [...missing].sort();
if (Deno.args.includes("--check")) {
  console.log(`peers: missing packages: ${list.join(" ")}`);
  Deno.exit(0);
}
if (Deno.uid?.() !== 0 || !which("apt-get")) {
  console.log(`peers: cannot install (need root and apt-get); missing: ${list.join(" ")}`);
  Deno.exit(0);
}

async function run(args: string[]): Promise<boolean> {
  const out = await new Deno.Command(args[0]!, {
    args: args.slice(1),
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    console.log(
      `peers: ${args.join(" ")} failed: ${
        new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ")
      }`,
    );
  }
  return out.success;
}

console.log(`peers: installing ${list.join(" ")}`);
const t0 = performance.now();
if (!(await run(["apt-get", "install", "-y", "--no-install-recommends", ...list]))) {
  await run(["apt-get", "update"]);
  await run(["apt-get", "install", "-y", "--no-install-recommends", ...list]);
}
const still = Object.entries(PEERS).filter(([b]) => !which(b)).map(([, p]) => p);
console.log(
  `peers: done in ${((performance.now() - t0) / 1000).toFixed(1)} s` +
    (still.length ? `; still missing: ${[...new Set(still)].join(" ")}` : ""),
);
