/**
 * The guest root filesystem as a read-only disk image protected by dm-verity, as Kata ships its
 * guest (`image` + `kernel_verity_params`), instead of one large initramfs: the kernel no longer
 * unpacks ~100 MiB into RAM and the early init no longer copies it to a tmpfs (pivot_root, which
 * runc needs, does not work on the initramfs), so boot is faster and the guest keeps that memory;
 * and with the root hash on the measured kernel command line, every block of the rootfs is
 * covered by the TEE's launch measurement.
 *
 * - `image` unset: `rootfs.img` next to the initrd is used when it exists (what
 *   `scripts/build-guest-image` writes); `""` boots the initrd alone (a full initramfs image).
 * - `kernel_verity_params` unset: read from `<image>.verity` when it exists (written by the
 *   build); `""` means no verity, which a confidential VM refuses.
 * - Params: Kata's syntax `root_hash=<hex>,salt=<hex>,data_blocks=<n>,data_block_size=<n>,
 *   hash_block_size=<n>` plus ours `hash_offset=<bytes>` (hash tree appended to the image).
 * - The guest learns them from `coco.rootfs=verity:<root_hash>:<salt>:<data_blocks>:
 *   <data_block_size>:<hash_block_size>:<hash_offset>` (or `coco.rootfs=plain`), finds the disk by
 *   its serial `coco-rootfs`, and opens it with `veritysetup --no-superblock`: the parameters come
 *   from the measured command line only, never from the untrusted disk.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { VmConfigError } from "./config.ts";

/** dm-verity parameters of a rootfs image. */
export interface VerityParams {
  rootHash: string;
  salt: string;
  dataBlocks: number;
  dataBlockSize: number;
  hashBlockSize: number;
  /** Byte offset of the hash tree in the image (0 = separate device; we always append). */
  hashOffset: number;
}

/** A rootfs image to attach, with its verity parameters (undefined = unprotected). */
export interface RootfsImage {
  path: string;
  verity?: VerityParams;
}

/** Disk serial the guest's early init looks for. */
export const ROOTFS_SERIAL = "coco-rootfs";

const HEX = /^[0-9a-f]+$/;

/** Parses Kata-style `key=value,…` verity parameters. */
export function parseVerityParams(text: string, what = "kernel_verity_params"): VerityParams {
  const kv = new Map<string, string>();
  for (const part of text.trim().split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) {
      throw new VmConfigError("invalid-vm-config", `${what}: "${part}" is not key=value`);
    }
    kv.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const known = [
    "root_hash",
    "salt",
    "data_blocks",
    "data_block_size",
    "hash_block_size",
    "hash_offset",
  ];
  for (const k of kv.keys()) {
    if (!known.includes(k)) {
      throw new VmConfigError("invalid-vm-config", `${what}: unknown key ${k}`);
    }
  }
  const hex = (k: string, len?: number) => {
    const v = (kv.get(k) ?? "").toLowerCase();
    if (!HEX.test(v) || v.length % 2 !== 0 || (len !== undefined && v.length !== len)) {
      throw new VmConfigError(
        "invalid-vm-config",
        `${what}: ${k} must be hex${len ? ` (${len / 2} bytes)` : ""}`,
      );
    }
    return v;
  };
  const int = (k: string, dflt?: number) => {
    const raw = kv.get(k);
    if (raw === undefined && dflt !== undefined) return dflt;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 0 || !/^\d+$/.test(raw ?? "")) {
      throw new VmConfigError("invalid-vm-config", `${what}: ${k} must be a non-negative integer`);
    }
    return n;
  };
  const p: VerityParams = {
    rootHash: hex("root_hash", 64),
    salt: hex("salt"),
    dataBlocks: int("data_blocks"),
    dataBlockSize: int("data_block_size", 4096),
    hashBlockSize: int("hash_block_size", 4096),
    hashOffset: int("hash_offset", 0),
  };
  for (
    const [k, v] of [["data_block_size", p.dataBlockSize], [
      "hash_block_size",
      p.hashBlockSize,
    ]] as const
  ) {
    if (v < 512 || v > 65536 || (v & (v - 1)) !== 0) {
      throw new VmConfigError(
        "invalid-vm-config",
        `${what}: ${k} must be a power of two in 512..65536`,
      );
    }
  }
  if (p.dataBlocks === 0) throw new VmConfigError("invalid-vm-config", `${what}: data_blocks is 0`);
  if (p.hashOffset < p.dataBlocks * p.dataBlockSize) {
    throw new VmConfigError(
      "invalid-vm-config",
      `${what}: hash_offset ${p.hashOffset} overlaps the ${p.dataBlocks} data blocks`,
    );
  }
  return p;
}

/** Kata-style text of `p` (what the build writes to `<image>.verity`). */
export function formatVerityParams(p: VerityParams): string {
  return `root_hash=${p.rootHash},salt=${p.salt},data_blocks=${p.dataBlocks},` +
    `data_block_size=${p.dataBlockSize},hash_block_size=${p.hashBlockSize},hash_offset=${p.hashOffset}`;
}

/** The `coco.rootfs=` kernel parameter for the guest's early init. */
export function rootfsKernelParam(img: RootfsImage): string {
  const v = img.verity;
  if (!v) return "coco.rootfs=plain";
  return `coco.rootfs=verity:${v.rootHash}:${v.salt}:${v.dataBlocks}:${v.dataBlockSize}:` +
    `${v.hashBlockSize}:${v.hashOffset}`;
}

async function readable(path: string): Promise<boolean> {
  return await Deno.stat(path).then((s) => s.isFile, () => false);
}

/**
 * Resolves `image` / `kernel_verity_params` as configured (see the module notes); undefined when
 * the VM boots from the initrd alone.
 */
export async function resolveRootfsImage(
  cfg: { initrd: string; image?: string | undefined; verityParams?: string | undefined },
  confidential: boolean,
): Promise<RootfsImage | undefined> {
  let path = cfg.image;
  if (path === undefined) {
    const sibling = join(dirname(cfg.initrd), "rootfs.img");
    if (!(await readable(sibling))) return undefined;
    path = sibling;
  }
  if (path === "") return undefined;
  if (path.includes(",")) {
    throw new VmConfigError(
      "invalid-vm-config",
      `hypervisor.image ${path} must not contain a comma`,
    );
  }
  if (!(await readable(path))) {
    throw new VmConfigError("invalid-vm-config", `hypervisor.image ${path} is not a readable file`);
  }
  let text = cfg.verityParams;
  let what = "kernel_verity_params";
  if (text === undefined && await readable(`${path}.verity`)) {
    text = (await Deno.readTextFile(`${path}.verity`)).trim();
    what = `${path}.verity`;
  }
  if (!text) {
    if (confidential) {
      throw new VmConfigError(
        "invalid-vm-config",
        `hypervisor.image ${path} has no dm-verity parameters: a confidential VM needs them ` +
          "(kernel_verity_params, or the build's <image>.verity)",
      );
    }
    return { path };
  }
  return { path, verity: parseVerityParams(text, what) };
}
