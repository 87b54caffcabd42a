/**
 * The `cca` evidence JSON (spec/evidence.md §9): `{"token": [bytes…]}` with the token as a JSON
 * array of numbers, as guest-components' CCA attester sends it. Like upstream we also accept that
 * object serialized into a JSON string.
 *
 * @module
 */
import type { JsonValue } from "@coco/lib/json";
import { VerifierError } from "../types.ts";

/** Largest token accepted (real tokens are about 2 KiB). */
export const MAX_CCA_TOKEN_BYTES = 64 * 1024;

const bad = (msg: string) =>
  new VerifierError("bad-evidence", `Deserialize CCA Evidence failed: ${msg}`);

/** Extracts the token bytes from `cca` evidence JSON. */
export function parseCcaEvidence(evidence: JsonValue): Uint8Array {
  let v = evidence;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v) as JsonValue;
    } catch {
      throw bad("evidence is a string but not JSON");
    }
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw bad('evidence must be an object {"token": [bytes]}');
  }
  const token = v.token;
  if (!Array.isArray(token)) throw bad('"token" must be an array of byte values');
  if (token.length > MAX_CCA_TOKEN_BYTES) {
    throw bad(`token is ${token.length} bytes, more than the ${MAX_CCA_TOKEN_BYTES} accepted`);
  }
  const out = new Uint8Array(token.length);
  for (const [i, b] of token.entries()) {
    if (typeof b !== "number" || !Number.isInteger(b) || b < 0 || b > 255) {
      throw bad(`token[${i}] is ${JSON.stringify(b)}, not a byte (0-255)`);
    }
    out[i] = b;
  }
  return out;
}

/** Builds `cca` evidence JSON from token bytes (what the guest attester sends). */
export function ccaEvidence(token: Uint8Array): { token: number[] } {
  return { token: [...token] };
}
