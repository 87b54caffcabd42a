/**
 * The guest image's `/pause_bundle` (spec/runtime.md §2.7, §3.1): `config.json` (an OCI runtime
 * spec whose process is `/pause`) and `rootfs/pause`, our own `pause.c` compiled static with
 * gcc. The agent runs CRI sandbox containers from it instead of pulling a pause image.
 *
 * Without gcc or a static libc (Debian: `gcc` + `libc6-dev`) the bundle is left out with a
 * warning; the agent then refuses sandbox containers with an error naming `/pause_bundle`.
 * There is deliberately no fallback to another binary (e.g. busybox `sleep`).
 *
 * @module
 */
import { join } from "node:path";

/** Source of the pause binary, kept in the repository beside this module. */
export const PAUSE_SOURCE: URL = new URL("./pause.c", import.meta.url);

/**
 * `/pause_bundle/config.json`: what kata ships for its pause bundle where it matters to the
 * agent (process `/pause`, cwd `/`, no terminal, user 0:0), plus a read-only root. No
 * capabilities: pause needs none.
 */
export const PAUSE_CONFIG = {
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
  hostname: "pause",
  mounts: [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755"] },
  ],
  linux: {
    namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }],
  },
} as const;

/** The exact `config.json` text written into the image. */
export function pauseConfigJson(): string {
  return JSON.stringify(PAUSE_CONFIG, null, 2) + "\n";
}

/**
 * True when `elf` is an ELF file without a PT_INTERP program header, i.e. it needs no dynamic
 * loader or shared libc in the bundle's rootfs. Throws when it is not a 64-bit LE ELF.
 */
export function isStaticElf(elf: Uint8Array): boolean {
  const magic = elf[0] === 0x7f && elf[1] === 0x45 && elf[2] === 0x4c && elf[3] === 0x46;
  if (!magic || elf[4] !== 2 || elf[5] !== 1 || elf.length < 64) {
    throw new Error("not a 64-bit little-endian ELF file");
  }
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const phoff = Number(v.getBigUint64(0x20, true));
  const phentsize = v.getUint16(0x36, true);
  const phnum = v.getUint16(0x38, true);
  if (phoff + phentsize * phnum > elf.length || phentsize < 4) {
    throw new Error("ELF program headers lie outside the file");
  }
  for (let i = 0; i < phnum; i++) {
    if (v.getUint32(phoff + i * phentsize, true) === 3) return false; // PT_INTERP
  }
  return true;
}

/** Result of {@linkcode buildPauseBundle}: built, or why not. */
export type PauseBundleResult = { built: true; bytes: number } | { built: false; reason: string };

/** Options of {@linkcode buildPauseBundle}. */
export interface PauseBuildOptions {
  /** C compiler (default `gcc`). */
  cc?: string;
  /** pause.c (default {@linkcode PAUSE_SOURCE}). */
  source?: string;
}

/**
 * Writes `<root>/pause_bundle/{config.json,rootfs/pause}`. When the compiler is missing or
 * cannot link statically, nothing is written and the reason is returned for the caller to print.
 */
export async function buildPauseBundle(
  root: string,
  opts: PauseBuildOptions = {},
): Promise<PauseBundleResult> {
  const cc = opts.cc ?? "gcc";
  const bundle = join(root, "pause_bundle");
  const work = await Deno.makeTempDir({ prefix: "coco-pause-" });
  try {
    const bin = join(work, "pause");
    const compile = async () =>
      await new Deno.Command(cc, {
        args: [
          "-static",
          "-Os",
          "-s",
          "-Wall",
          "-Wextra",
          "-Werror",
          "-o",
          bin,
          opts.source ?? PAUSE_SOURCE.pathname,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
    const out = await compile().catch((err: Error) => err);
    if (out instanceof Error) return { built: false, reason: `${cc} not found (${out.message})` };
    if (!out.success) {
      const msg = new TextDecoder().decode(out.stderr).trim().split("\n").slice(-2).join(" ");
      return { built: false, reason: `${cc} -static failed (static libc missing?): ${msg}` };
    }
    const elf = await Deno.readFile(bin);
    if (!isStaticElf(elf)) {
      return { built: false, reason: `${cc} -static produced a dynamic binary` };
    }
    await Deno.mkdir(join(bundle, "rootfs"), { recursive: true });
    await Deno.writeTextFile(join(bundle, "config.json"), pauseConfigJson(), { mode: 0o644 });
    await Deno.writeFile(join(bundle, "rootfs/pause"), elf, { mode: 0o755 });
    await Deno.chmod(join(bundle, "rootfs/pause"), 0o755);
    return { built: true, bytes: elf.length };
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}
