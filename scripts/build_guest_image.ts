/**
 * Builds the pod VM guest image from Debian packages: the Debian kernel, a root filesystem with
 * busybox-static, the kernel modules the guest needs, runc, cryptsetup/veritysetup, the Deno
 * runtime and the `coco-guest` bundle, `/pause_bundle` (CRI pod sandboxes; needs gcc and a
 * static libc, else left out with a warning), and `/init` that starts `coco-guest agent` as PID 1.
 * The root is a dm-verity protected ext4 disk opened by a small initramfs
 * (guest_image/rootfs_disk.ts), or with `--initrd-only` one initramfs. Prints the digests a TEE
 * measures (kernel, initrd, command line with the root hash) for reference values.
 *
 * Usage: deno run -A scripts/build_guest_image.ts [--out DIR] [--kernel FILE] [--force]
 *        [--initrd-only]
 *
 * Output in DIR (default dist/guest): vmlinuz, initrd.img, rootfs.img, rootfs.img.verity, cmdline,
 * manifest.json. Rebuilds only when an input changed (the manifest records a key over all
 * inputs).
 *
 * @module
 */
import { zstdCompressSync } from "node:zlib";
import {
  GUEST_MODULES,
  loadOrder,
  modulesDepSubset,
  OPTIONAL_MODULES,
  parseModulesBuiltin,
  parseModulesDep,
} from "./guest_image/modules.ts";
import { buildPauseBundle, PAUSE_SOURCE, pauseConfigJson } from "./guest_image/pause_bundle.ts";
import {
  buildRootfsImage,
  diskToolsPresent,
  stage1InitScript,
  verifyRootfsImage,
  writeVeritySidecar,
} from "./guest_image/rootfs_disk.ts";
import { rootfsKernelParam, type VerityParams } from "../host/vm/rootfs_image.ts";

const args = Deno.args;
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const OUT = flag("--out") ?? "dist/guest";
const FORCE = args.includes("--force");
/** Everything in one initramfs (the layout before the rootfs disk; no dm-verity). */
const INITRD_ONLY = args.includes("--initrd-only");

/** Kernel command line the image is built for (the shim may append agent.* parameters). */
export const DEFAULT_CMDLINE =
  "console=ttyS0 rdinit=/init panic=-1 quiet agent.channel=serial:agent.channel.0";

/**
 * V8 flags of the agent in the guest: a 1 MiB young-generation semi-space keeps image-pull
 * peaks near 80–100 MB instead of 120–180 MB (guest/image/README.md) at no measured time cost.
 */
const GUEST_V8_FLAGS = "--max-semi-space-size=1";

async function sh(cmd: string, argv: string[], opts: { cwd?: string; stdin?: Uint8Array } = {}) {
  const p = new Deno.Command(cmd, {
    args: argv,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    stdin: opts.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (opts.stdin) {
    const w = p.stdin.getWriter();
    await w.write(opts.stdin);
    await w.close();
  }
  const out = await p.output();
  if (!out.success) {
    throw new Error(
      `${cmd} ${argv.join(" ")} failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return new TextDecoder().decode(out.stdout);
}

async function findKernel(): Promise<string> {
  const given = flag("--kernel");
  if (given) return given;
  const names: string[] = [];
  for await (const e of Deno.readDir("/boot")) {
    if (e.name.startsWith("vmlinuz-")) names.push(e.name);
  }
  names.sort();
  if (!names.length) {
    throw new Error("no Debian kernel in /boot (apt-get install linux-image-amd64)");
  }
  return `/boot/${names.at(-1)}`;
}

/** Shared libraries (and the loader) an ELF binary needs, from `ldd`. */
async function libsOf(bin: string): Promise<string[]> {
  const text = await sh("ldd", [bin]).catch(() => "");
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = line.match(/=>\s+(\/\S+)/) ?? line.match(/^\s+(\/\S+)\s+\(/);
    if (m) out.push(m[1]!);
  }
  return out;
}

async function copyInto(root: string, src: string, dest = src) {
  const target = `${root}${dest}`;
  await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
  await Deno.copyFile(await Deno.realPath(src), target);
  const st = await Deno.stat(src);
  await Deno.chmod(target, (st.mode ?? 0o755) & 0o7777);
}

async function sha(alg: "SHA-256" | "SHA-384", data: Uint8Array): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest(alg, data as Uint8Array<ArrayBuffer>)).toHex();
}

function initScript(kver: string): string {
  return `#!/bin/busybox sh
# coco-guest early init: leave the initramfs for a tmpfs root (pivot_root, which runc uses to
# jail containers, does not work on the initramfs rootfs), mounts, kernel modules, then the agent
# as PID 1.
if [ ! -e /.coco-root ]; then
  /bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null
  echo "<3>coco-init: copying the initramfs to a tmpfs root" > /dev/kmsg
  /bin/busybox umount /dev 2>/dev/null
  /bin/busybox mkdir -p /newroot
  /bin/busybox mount -t tmpfs -o mode=0755 rootfs /newroot
  for d in /*; do
    case "$d" in /newroot|/proc|/sys|/dev|/run|/tmp) ;; *) /bin/busybox cp -a "$d" /newroot/ ;; esac
  done
  /bin/busybox mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/run /newroot/tmp
  /bin/busybox touch /newroot/.coco-root
  exec /bin/busybox switch_root /newroot /init
fi
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
/bin/busybox mkdir -p /dev/pts /dev/shm /run /tmp
/bin/busybox mount -t devpts devpts /dev/pts
/bin/busybox mount -t tmpfs -o mode=1777 tmpfs /dev/shm
/bin/busybox mount -t tmpfs -o mode=0755 tmpfs /run
/bin/busybox mount -t tmpfs -o mode=1777 tmpfs /tmp
while read -r m; do
  n="\${m##*/}"; n="\${n%%.ko*}"; n=$(echo "$n" | /bin/busybox tr - _)
  [ -d "/sys/module/$n" ] && continue # loaded by the stage-1 initramfs
  /bin/busybox insmod "/lib/modules/${kver}/$m" 2>/dev/null || echo "coco-init: insmod $m failed" > /dev/kmsg
done < /etc/coco/modules
/bin/busybox ip link set lo up 2>/dev/null
echo "<3>coco-init: starting the agent" > /dev/kmsg
export HOME=/root DENO_DIR=/var/cache/deno PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NO_COLOR=1 DENO_V8_FLAGS=${GUEST_V8_FLAGS}
exec /usr/bin/deno run -A --unstable-vsock /opt/coco/coco-guest.js agent
`;
}

/**
 * Runs the bundle once inside the image root (chroot, private mount namespace with /proc) so
 * DENO_DIR (`/var/cache/deno`) holds V8's code cache and Deno's analysis caches for
 * `/opt/coco/coco-guest.js`: under TCG, compiling the bundle is most of the agent's start-up.
 * Best effort: needs root and unshare; without them the guest compiles at boot.
 */
async function warmDenoCache(root: string): Promise<void> {
  if (Deno.uid?.() !== 0) return;
  const script = `mount --make-rprivate / && mount -t proc proc "${root}/proc" && ` +
    `exec chroot "${root}" /usr/bin/deno run -A /opt/coco/coco-guest.js --help`;
  const out = await new Deno.Command("unshare", {
    args: ["--mount", "--fork", "sh", "-c", script],
    // Same V8 flags as /init: V8 rejects a code cache made under different flags.
    env: {
      DENO_DIR: "/var/cache/deno",
      HOME: "/root",
      NO_COLOR: "1",
      DENO_V8_FLAGS: GUEST_V8_FLAGS,
    },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).output().catch(() => undefined);
  if (!out?.success) {
    console.error("guest image: Deno code cache not warmed (needs root and unshare)");
  }
}

/** `cpio -o -H newc` of `dir` compressed with zstd into `out`; removes `dir` when `cleanup`. */
async function cpioZstd(dir: string, out: string, cleanup: boolean): Promise<void> {
  try {
    if (cleanup) {
      // The stage-1 tree is ours alone: one fixed mtime makes the archive, and so the initrd a
      // TEE measures, the same bytes on every build from the same inputs.
      await sh("sh", ["-c", "find . -exec touch -h -d @0 {} +"], { cwd: dir });
    }
    const list = await sh("sh", ["-c", "find . | LC_ALL=C sort"], { cwd: dir });
    const cpio = await new Deno.Command("cpio", {
      args: ["-o", "-H", "newc", "--quiet", "--reproducible"],
      cwd: dir,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = cpio.stdin.getWriter();
    await w.write(new TextEncoder().encode(list));
    await w.close();
    // zstd: the kernel unpacks it several times faster than gzip, which matters under TCG.
    const archive = new Uint8Array(await new Response(cpio.stdout).arrayBuffer());
    await Deno.writeFile(out, zstdCompressSync(archive));
    const st = await cpio.status;
    if (!st.success) throw new Error("cpio failed");
  } finally {
    if (cleanup) await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The stage-1 initramfs tree: busybox, the guest's kernel modules, veritysetup with its
 * libraries, and the stage-1 `/init` (guest_image/rootfs_disk.ts).
 */
async function stage1Root(kver: string, order: string[], modDir: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "coco-stage1-" });
  for (const d of ["bin", "sbin", "proc", "sys", "dev", "etc/coco"]) {
    await Deno.mkdir(`${dir}/${d}`, { recursive: true });
  }
  await copyInto(dir, "/bin/busybox");
  for (const applet of (await sh("/bin/busybox", ["--list"])).split("\n").filter(Boolean)) {
    if (applet !== "busybox") await Deno.symlink("busybox", `${dir}/bin/${applet}`).catch(() => {});
  }
  await copyInto(dir, "/sbin/veritysetup");
  for (const l of await libsOf("/sbin/veritysetup")) await copyInto(dir, l);
  for (const m of order) await copyInto(dir, `${modDir}/${m}`);
  await Deno.writeTextFile(`${dir}/etc/coco/modules`, order.join("\n") + "\n");
  await Deno.writeTextFile(`${dir}/init`, stage1InitScript(kver), { mode: 0o755 });
  if (Deno.uid?.() === 0) await sh("mknod", ["-m", "600", `${dir}/dev/console`, "c", "5", "1"]);
  return dir;
}

async function inputsKey(parts: string[]): Promise<string> {
  return await sha("SHA-256", new TextEncoder().encode(parts.join("\n")));
}

async function statKey(p: string): Promise<string> {
  const st = await Deno.stat(p);
  return `${p}:${st.size}:${st.mtime?.getTime()}`;
}

async function main() {
  const kernel = await findKernel();
  const kver = kernel.slice(kernel.indexOf("vmlinuz-") + 8);
  const modDir = `/lib/modules/${kver}`;
  const bundle = "dist/coco-guest.js";
  // Always from the current sources (a few seconds): an image must never carry a stale agent.
  await Deno.mkdir("dist", { recursive: true });
  await sh(Deno.execPath(), ["bundle", "--quiet", "-o", bundle, "guest/main.ts"]);
  const deno = Deno.execPath();
  const bins: Record<string, string> = {
    "/usr/sbin/runc": "/usr/sbin/runc",
    "/sbin/cryptsetup": "/sbin/cryptsetup",
    "/sbin/veritysetup": "/sbin/veritysetup",
  };
  const init = initScript(kver);
  const useDisk = !INITRD_ONLY && await diskToolsPresent();
  if (!useDisk && !INITRD_ONLY) {
    console.error(
      "guest image: mkfs.ext4 or veritysetup missing: one initramfs without dm-verity " +
        "(apt-get install e2fsprogs cryptsetup-bin)",
    );
  }
  const bundleHash = await sha("SHA-256", await Deno.readFile(bundle));
  const key = await inputsKey([
    await statKey(kernel),
    await statKey(deno),
    bundleHash,
    // The builder itself: a change to how the image is made rebuilds it.
    await sha("SHA-256", await Deno.readFile(new URL(import.meta.url))),
    init,
    GUEST_MODULES.join(","),
    // The pause bundle: its source, config, builder, and whether a compiler is there at all.
    await sha("SHA-256", await Deno.readFile(PAUSE_SOURCE)),
    await sha(
      "SHA-256",
      await Deno.readFile(new URL("./guest_image/pause_bundle.ts", import.meta.url)),
    ),
    pauseConfigJson(),
    // The rootfs disk layout (or the single initramfs when the tools are missing / not wanted).
    await sha(
      "SHA-256",
      await Deno.readFile(new URL("./guest_image/rootfs_disk.ts", import.meta.url)),
    ),
    useDisk ? "rootfs:disk" : "rootfs:initrd",
    (await sh("sh", ["-c", "command -v gcc || true"])).trim() || "gcc:missing",
    ...await Promise.all(Object.keys(bins).map((b) => statKey(b).catch(() => `${b}:missing`))),
  ]);
  const manifestPath = `${OUT}/manifest.json`;
  if (!FORCE) {
    try {
      const old = JSON.parse(await Deno.readTextFile(manifestPath));
      if (old.inputs_key === key) {
        console.log(JSON.stringify(old, null, 2));
        return;
      }
    } catch { /* no previous build */ }
  }

  const t0 = performance.now();
  const root = await Deno.makeTempDir({ prefix: "coco-guest-root-" });
  try {
    for (
      const d of [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "proc",
        "sys",
        "dev",
        "run",
        "tmp",
        "root",
        "etc/coco",
        "opt/coco",
        "mnt",
        "var",
      ]
    ) {
      await Deno.mkdir(`${root}/${d}`, { recursive: true });
    }
    // busybox and its applets
    await copyInto(root, "/bin/busybox");
    for (const applet of (await sh("/bin/busybox", ["--list"])).split("\n").filter(Boolean)) {
      if (applet === "busybox") continue;
      await Deno.symlink("busybox", `${root}/bin/${applet}`).catch(() => {});
    }
    // Deno and the guest bundle
    await copyInto(root, deno, "/usr/bin/deno");
    await copyInto(root, bundle, "/opt/coco/coco-guest.js");
    const libs = new Set(await libsOf(deno));
    for (const [src, dest] of Object.entries(bins)) {
      try {
        await copyInto(root, src, dest);
        for (const l of await libsOf(src)) libs.add(l);
      } catch {
        console.error(`guest image: ${src} not installed; left out`);
      }
    }
    for (const l of libs) await copyInto(root, l);
    // kernel modules in load order
    const dep = parseModulesDep(await Deno.readTextFile(`${modDir}/modules.dep`));
    const builtin = parseModulesBuiltin(
      await Deno.readTextFile(`${modDir}/modules.builtin`).catch(() => ""),
    );
    const order = loadOrder(dep, builtin, GUEST_MODULES, OPTIONAL_MODULES);
    for (const m of order) await copyInto(root, `${modDir}/${m}`);
    await Deno.writeTextFile(`${root}/etc/coco/modules`, order.join("\n") + "\n");
    // modules.dep for the included modules, so `modprobe` works in the guest (CreateSandbox
    // kernel_modules); everything in it is already loaded by /init unless it failed.
    await Deno.writeTextFile(
      `${root}${modDir}/modules.dep`,
      modulesDepSubset(await Deno.readTextFile(`${modDir}/modules.dep`), order),
    );
    await Deno.writeTextFile(`${root}/init`, init, { mode: 0o755 });
    await Deno.writeTextFile(`${root}/etc/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
    await Deno.writeTextFile(`${root}/etc/group`, "root:x:0:\n");
    await Deno.writeTextFile(`${root}/etc/hosts`, "127.0.0.1 localhost\n");
    // The kernel opens /dev/console before /init runs; the node must be in the archive.
    if (Deno.uid?.() === 0) await sh("mknod", ["-m", "600", `${root}/dev/console`, "c", "5", "1"]);
    const pause = await buildPauseBundle(root);
    if (!pause.built) {
      console.error(
        `guest image: WARNING: no /pause_bundle (${pause.reason}); CRI pod sandboxes will fail ` +
          "in this image (install gcc and libc6-dev, then rebuild with --force)",
      );
    }
    await warmDenoCache(root);

    await Deno.mkdir(OUT, { recursive: true });
    const image = `${OUT}/rootfs.img`;
    let verity: VerityParams | undefined;
    if (useDisk) {
      // Stage 2 runs straight from the overlay root: nothing to copy.
      await Deno.writeTextFile(`${root}/.coco-root`, "");
      verity = await buildRootfsImage(root, image);
      await verifyRootfsImage(image, verity);
      await writeVeritySidecar(image, verity);
      await cpioZstd(await stage1Root(kver, order, modDir), `${OUT}/initrd.img`, true);
    } else {
      await Deno.remove(image).catch(() => {});
      await Deno.remove(`${image}.verity`).catch(() => {});
      await cpioZstd(root, `${OUT}/initrd.img`, false);
    }
    // What the shim puts on the kernel command line: its parameters, the rootfs, the channel.
    const cmdline = verity
      ? DEFAULT_CMDLINE.replace(" agent.", ` ${rootfsKernelParam({ path: image, verity })} agent.`)
      : DEFAULT_CMDLINE;
    await Deno.copyFile(kernel, `${OUT}/vmlinuz`);
    await Deno.writeTextFile(`${OUT}/cmdline`, cmdline + "\n");

    const kernelBytes = await Deno.readFile(`${OUT}/vmlinuz`);
    const initrdBytes = await Deno.readFile(`${OUT}/initrd.img`);
    const cmdBytes = new TextEncoder().encode(cmdline);
    const manifest = {
      inputs_key: key,
      kernel_version: kver,
      kernel: {
        path: `${OUT}/vmlinuz`,
        sha256: await sha("SHA-256", kernelBytes),
        sha384: await sha("SHA-384", kernelBytes),
      },
      initrd: {
        path: `${OUT}/initrd.img`,
        bytes: initrdBytes.length,
        sha256: await sha("SHA-256", initrdBytes),
        sha384: await sha("SHA-384", initrdBytes),
      },
      rootfs: verity ? { path: image, bytes: (await Deno.stat(image)).size, verity } : null,
      cmdline: {
        text: cmdline,
        sha256: await sha("SHA-256", cmdBytes),
        sha384: await sha("SHA-384", cmdBytes),
      },
      modules: order,
      pause_bundle: pause.built,
      build_seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    };
    await Deno.writeTextFile(manifestPath, JSON.stringify(manifest, null, 2) + "\n");
    console.log(JSON.stringify(manifest, null, 2));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.error(`build-guest-image: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
