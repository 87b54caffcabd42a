/**
 * Binding runtime data into evidence, exactly as spec/trustee.md §1.6: the primary attester gets
 * `H(JCS({"tee-pubkey", "nonce", "additional-evidence"}))`, each device gets
 * `H(JCS({"nonce", "tee-pubkey"}))`. Both guest and trustee use these functions.
 */
import { createHash } from "node:crypto";
import { canonicalize } from "../json/mod.ts";
import { isJsonObject } from "../json/mod.ts";
import type { HashAlgorithm, TeePubKey } from "./types.ts";
import { HASH_ALGORITHMS } from "./types.ts";

/** The hash used when the challenge does not select one. */
export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = "sha384";

/** Digest of `data` with a KBS hash algorithm name. */
export function digest(alg: HashAlgorithm, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(alg).update(data).digest());
}

/** `H(JCS(value))`. */
export function hashCanonical(alg: HashAlgorithm, value: unknown): Uint8Array {
  return digest(alg, new TextEncoder().encode(canonicalize(value)));
}

/** Runtime data the primary evidence commits to. `additional-evidence` is always present. */
export function primaryRuntimeData(
  nonce: string,
  teePubKey: TeePubKey,
  additionalEvidence: string,
): { nonce: string; "tee-pubkey": TeePubKey; "additional-evidence": string } {
  return { nonce, "tee-pubkey": teePubKey, "additional-evidence": additionalEvidence };
}

/** Runtime data each additional device's evidence commits to. */
export function deviceRuntimeData(
  nonce: string,
  teePubKey: TeePubKey,
): { nonce: string; "tee-pubkey": TeePubKey } {
  return { nonce, "tee-pubkey": teePubKey };
}

/**
 * The hash algorithm selected by a challenge's `extra-params.selected-hash-algorithm`
 * (case-insensitive), else SHA-384. An unknown or non-string selection is an error.
 */
export function selectedHashAlgorithm(extraParams: unknown): HashAlgorithm {
  if (!isJsonObject(extraParams) || !("selected-hash-algorithm" in extraParams)) {
    return DEFAULT_HASH_ALGORITHM;
  }
  const sel = extraParams["selected-hash-algorithm"];
  const name = typeof sel === "string" ? sel.toLowerCase() : undefined;
  if (name === undefined || !(HASH_ALGORITHMS as readonly string[]).includes(name)) {
    throw new TypeError(`challenge selects an unsupported hash algorithm: ${JSON.stringify(sel)}`);
  }
  return name as HashAlgorithm;
}

/** Right-pads with zeros (or truncates) to `size` bytes, as TEE report-data fields are filled. */
export function padTo(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(bytes.subarray(0, size));
  return out;
}
