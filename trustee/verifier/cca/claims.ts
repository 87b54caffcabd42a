/**
 * Claims of a verified CCA token, exactly as Trustee emits them (spec/evidence.md §9): byte values
 * in standard base64 under `realm` and `platform`, plus `report_data` (hex of the realm challenge)
 * and `init_data` (hex of the personalization value). Keys are in serde_json's (sorted) order.
 *
 * @module
 */
import type { JsonValue } from "@coco/lib/json";
import type { CcaToken } from "./token.ts";

/** Builds the `cca` claims of a verified token. */
export function ccaClaims(token: CcaToken): Record<string, JsonValue> {
  const r = token.realmClaims;
  const p = token.platformClaims;
  return {
    init_data: r.personalization.toHex(),
    platform: {
      "cca-platform-implementation-id": p.implementationId.toBase64(),
      "cca-platform-instance-id": p.instanceId.toBase64(),
    },
    realm: {
      "cca-realm-challenge": r.challenge.toBase64(),
      "cca-realm-extensible-measurements": r.rems.map((m) => m.toBase64()),
      "cca-realm-hash-algo-id": r.hashAlg,
      "cca-realm-initial-measurement": r.rim.toBase64(),
      "cca-realm-personalization-value": r.personalization.toBase64(),
    },
    report_data: r.challenge.toHex(),
  };
}
