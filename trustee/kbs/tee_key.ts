/** Finding the TEE public key in verified token claims (spec/trustee.md §2.2 step 7). */
import type { JsonValue } from "@coco/lib/json";
import { parseTeePubKey, type TeePubKey } from "@coco/lib/kbs";

export const DEFAULT_TEE_KEY_PATHS = [
  "/tdx/attester_runtime_data/tee-pubkey",
  "/tdx/attester_user_data/tee-pubkey",
  "/customized_claims/runtime_data/tee-pubkey",
  "/submods/cpu0/ear.veraison.annotated-evidence/runtime_data_claims/tee-pubkey",
  "/tee-pubkey",
];

/** Resolves an RFC 6901 JSON pointer. */
export function jsonPointer(doc: JsonValue, pointer: string): JsonValue | undefined {
  if (pointer === "") return doc;
  let cur: JsonValue | undefined = doc;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (cur === null || typeof cur !== "object") return undefined;
    cur = Array.isArray(cur) ? cur[Number(key)] : Object.hasOwn(cur, key) ? cur[key] : undefined;
  }
  return cur;
}

/** First TEE key found along `extra` then the default paths. */
export function teeKeyFromClaims(claims: JsonValue, extra: string[] = []): TeePubKey | undefined {
  for (const p of [...extra, ...DEFAULT_TEE_KEY_PATHS]) {
    const v = jsonPointer(claims, p);
    if (v !== undefined && v !== null) return parseTeePubKey(v);
  }
  return undefined;
}
