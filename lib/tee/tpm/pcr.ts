/** PCR selections (TPML_PCR_SELECTION) and the quote's PCR digest. */
import type { TpmReader, TpmWriter } from "./buffer.ts";
import { algName, DIGEST_SIZES, webCryptoHash } from "./constants.ts";
import { TpmError } from "./errors.ts";
import { concat } from "../../bytes.ts";

/** One bank of selected PCRs: a hash algorithm and the sorted PCR indices. */
export interface PcrSelection {
  hash: number;
  pcrs: number[];
}

/** Highest PCR index supported by the selection bitmaps this module writes (PCR 0-23). */
export const PCR_COUNT = 24;

/** Appends a TPML_PCR_SELECTION; bitmaps are at least 3 bytes, as TPMs require. */
export function writePcrSelection(w: TpmWriter, sel: readonly PcrSelection[]): void {
  w.u32(sel.length);
  for (const s of sel) {
    const size = Math.max(3, Math.ceil((Math.max(-1, ...s.pcrs) + 1) / 8));
    const map = new Uint8Array(size);
    for (const p of s.pcrs) {
      if (!Number.isInteger(p) || p < 0 || p >= size * 8) {
        throw new TpmError("malformed", `Cannot select PCR ${p}: not a PCR index`);
      }
      map[p >> 3]! |= 1 << (p & 7);
    }
    w.u16(s.hash).u8(size).raw(map);
  }
}

/** Reads a TPML_PCR_SELECTION (at most 16 banks, bitmaps at most 8 bytes). */
export function readPcrSelection(r: TpmReader): PcrSelection[] {
  const count = r.u32("TPML_PCR_SELECTION count");
  if (count > 16) {
    throw new TpmError("malformed", `Cannot parse ${r.what}: ${count} PCR banks selected`);
  }
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hash = r.u16("TPMS_PCR_SELECTION hash");
    const size = r.u8("TPMS_PCR_SELECTION sizeofSelect");
    if (size > 8) {
      throw new TpmError("malformed", `Cannot parse ${r.what}: PCR bitmap of ${size} bytes`);
    }
    const map = r.bytes(size, "TPMS_PCR_SELECTION pcrSelect");
    const pcrs: number[] = [];
    for (let p = 0; p < size * 8; p++) if (map[p >> 3]! & (1 << (p & 7))) pcrs.push(p);
    out.push({ hash, pcrs });
  }
  return out;
}

/** Selection of PCRs 0-23 in one bank (what the attesters quote). */
export function allPcrs(hash: number): PcrSelection[] {
  return [{ hash, pcrs: Array.from({ length: PCR_COUNT }, (_, i) => i) }];
}

/** Digest of the concatenated PCR values, as a TPM computes a quote's pcrDigest. */
export async function pcrDigest(hash: number, values: readonly Uint8Array[]): Promise<Uint8Array> {
  const name = webCryptoHash(hash);
  if (!name) {
    throw new TpmError("unsupported", `Cannot compute a PCR digest with ${algName(hash)}`);
  }
  return new Uint8Array(await crypto.subtle.digest(name, concat(...values)));
}

/** PCR value after extending `current` with `digest`: H(current ‖ digest). */
export async function extendPcr(
  hash: number,
  current: Uint8Array,
  digest: Uint8Array,
): Promise<Uint8Array> {
  const size = DIGEST_SIZES.get(hash);
  if (size === undefined || digest.length !== size || current.length !== size) {
    throw new TpmError(
      "malformed",
      `Cannot extend a ${algName(hash)} PCR: value and digest must be ${size ?? "?"} bytes`,
    );
  }
  return await pcrDigest(hash, [current, digest]);
}
