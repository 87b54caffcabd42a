/**
 * SEV-SNP TCB_VERSION encoding and product detection. The 8-byte TCB layout depends on the
 * product: Milan and Genoa ("legacy") put the boot loader in byte 0 and SNP in byte 6; Turin adds
 * an FMC byte and packs the fields at the start.
 */
import { SnpFormatError } from "./errors.ts";

/** AMD EPYC generations that have SEV-SNP root certificates. */
export type SnpProduct = "Milan" | "Genoa" | "Turin";

/** Byte layout of TCB_VERSION fields. */
export type TcbLayout = "legacy" | "turin";

/** A TCB_VERSION (security patch levels); `fmc` is only present on Turin. */
export interface TcbVersion {
  fmc: number | null;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

/** TCB layout used by a product. */
export function tcbLayoutOf(product: SnpProduct): TcbLayout {
  return product === "Turin" ? "turin" : "legacy";
}

/**
 * Product from the report's CPUID family and model (report version 3 and later):
 * family 0x19 models 0x00-0x0F Milan, 0x10-0x1F and 0xA0-0xAF Genoa; family 0x1A models
 * 0x00-0x11 Turin. Returns `undefined` for anything else.
 */
export function productFromCpuid(family: number, model: number): SnpProduct | undefined {
  if (family === 0x19) {
    if (model <= 0x0f) return "Milan";
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)) return "Genoa";
  }
  if (family === 0x1a && model <= 0x11) return "Turin";
  return undefined;
}

/**
 * TCB layout guessed from CHIP_ID for version-2 reports (no CPUID): Turin chip ids use only the
 * first 8 bytes. An all-zero CHIP_ID (MASK_CHIP_ID) gives no hint and is treated as legacy.
 */
export function layoutFromChipId(chipId: Uint8Array): TcbLayout {
  const head = chipId.subarray(0, 8).some((b) => b !== 0);
  const tail = chipId.subarray(8).some((b) => b !== 0);
  return head && !tail ? "turin" : "legacy";
}

/** Decodes 8 TCB_VERSION bytes with `layout`. */
export function decodeTcb(bytes: Uint8Array, layout: TcbLayout): TcbVersion {
  const b = (i: number) => bytes[i]!;
  return layout === "turin"
    ? { fmc: b(0), bootloader: b(1), tee: b(2), snp: b(3), microcode: b(7) }
    : { fmc: null, bootloader: b(0), tee: b(1), snp: b(6), microcode: b(7) };
}

/** Encodes a TCB_VERSION into 8 bytes with `layout` (reserved bytes zero; null fmc → 0). */
export function encodeTcb(tcb: TcbVersion, layout: TcbLayout): Uint8Array {
  const out = new Uint8Array(8);
  if (layout === "turin") {
    out.set([tcb.fmc ?? 0, tcb.bootloader, tcb.tee, tcb.snp]);
  } else {
    out[0] = tcb.bootloader;
    out[1] = tcb.tee;
    out[6] = tcb.snp;
  }
  out[7] = tcb.microcode;
  return out;
}

/** Requires a product, naming the CPUID values that did not match one. */
export function requireProduct(family: number, model: number): SnpProduct {
  const product = productFromCpuid(family, model);
  if (!product) {
    throw new SnpFormatError(
      "unsupported-product",
      `Cannot use SNP report: processor family 0x${family.toString(16)} model 0x${
        model.toString(16)
      } is not Milan, Genoa or Turin`,
    );
  }
  return product;
}
