/**
 * The `tpm` evidence JSON (upstream attester shape): `{"ak_public": b64(DER SPKI),
 * "tpm_quote": {"signature": b64(TPMT_SIGNATURE), "message": b64(TPMS_ATTEST),
 * "pcrs": [24 × hex]}}`, plus our optional `"event_log": b64(TCG2 crypto-agile log)` and
 * `"aa_eventlog": b64(AAEL entries)` (the field name an earlier upstream TPM attester used).
 */
import type { JsonValue } from "@coco/lib/json";
import { obj, optStr, str, strArray } from "@coco/lib/json/fields";
import { parseTpmSignature, type TpmSignature } from "@coco/lib/tee/tpm";
import { VerifierError } from "../types.ts";

/** Parsed `tpm` evidence, before any check. */
export interface TpmEvidence {
  /** `ak_public` as received (base64), reported as a claim. */
  akPublic: string;
  akSpki: Uint8Array;
  message: Uint8Array;
  signature: TpmSignature;
  pcrs: Uint8Array[];
  eventLog?: Uint8Array;
  /** `aa_eventlog` as received (base64). */
  aaEventLog?: string;
}

function b64(value: string, path: string): Uint8Array {
  try {
    return Uint8Array.fromBase64(value);
  } catch {
    throw new TypeError(`${path} is not base64`);
  }
}

function hex(value: string, path: string): Uint8Array {
  try {
    return Uint8Array.fromHex(value);
  } catch {
    throw new TypeError(`${path} is not hex`);
  }
}

/** Parses `tpm` evidence; every failure is `bad-evidence` naming the field. */
export function parseTpmEvidence(evidence: JsonValue): TpmEvidence {
  try {
    const o = obj(evidence, "tpm evidence");
    const akPublic = str(o.ak_public, "ak_public");
    const q = obj(o.tpm_quote, "tpm_quote");
    const pcrs = strArray(q.pcrs, "tpm_quote.pcrs").map((p, i) => hex(p, `tpm_quote.pcrs[${i}]`));
    const eventLog = optStr(o.event_log, "event_log");
    const aaEventLog = optStr(o.aa_eventlog, "aa_eventlog");
    return {
      akPublic,
      akSpki: b64(akPublic, "ak_public"),
      message: b64(str(q.message, "tpm_quote.message"), "tpm_quote.message"),
      signature: parseTpmSignature(
        b64(str(q.signature, "tpm_quote.signature"), "tpm_quote.signature"),
      ),
      pcrs,
      ...(eventLog === undefined ? {} : { eventLog: b64(eventLog, "event_log") }),
      ...(aaEventLog === undefined ? {} : { aaEventLog }),
    };
  } catch (err) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify tpm evidence: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
