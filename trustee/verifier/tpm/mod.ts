/**
 * The `tpm` verifier (spec/evidence.md §7.2, upstream `deps/verifier/src/tpm`): the attestation
 * key must be one of the configured trusted AK keys; the quote (TPMS_ATTEST) must be signed by
 * it; the PCR values must hash to the quoted digest; extraData must carry the expected report
 * data; PCR 8 must hold the init-data digest; an event log, when present, must replay to the
 * PCRs (with the AA event log of runtime measurements). See README.md for the differences from upstream.
 *
 * @module
 */
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual } from "@coco/lib/bytes";
import { importVerifyKey, TpmError } from "@coco/lib/tee/tpm";
import type { VerifiedClaims, Verifier, VerifierOptions, VerifyInput } from "../types.ts";
import { VerifierError } from "../types.ts";
import { parseTpmEvidence } from "./evidence.ts";
import { parseFirmwareLog, verifyEventLog } from "./event_log.ts";
import { parseAaEventLog } from "../aael.ts";
import {
  INIT_DATA_PCR,
  pcrClaims,
  quoteEvidence,
  verifyInitDataPcr,
  verifyPcrDigest,
  verifyQuoteSignature,
} from "./quote.ts";
import { TrustedAkKeys } from "./trust.ts";

export { parseTpmEvidence, type TpmEvidence } from "./evidence.ts";
export { TrustedAkKeys } from "./trust.ts";
export * from "./quote.ts";

/** Shortest extraData accepted as a report-data binding (bytes). */
const MIN_NONCE = 32;

/**
 * extraData must equal the expected report data resized (zero-padded or truncated) to the
 * extraData length: 64 (current upstream attester), 48 (exact SHA-384) or 32 (older attester).
 */
export function checkTpmNonce(tee: string, extraData: Uint8Array, expected: Uint8Array): void {
  if (extraData.length < MIN_NONCE) {
    throw new VerifierError(
      "report-data-mismatch",
      `Cannot verify ${tee} evidence: the quote's extraData is ${extraData.length} bytes, ` +
        `at least ${MIN_NONCE} are needed to bind the report data`,
    );
  }
  const want = new Uint8Array(extraData.length);
  want.set(expected.subarray(0, extraData.length));
  if (!bytesEqual(want, extraData)) {
    throw new VerifierError(
      "report-data-mismatch",
      `Cannot verify ${tee} evidence: the quote's extraData (nonce) does not match the ` +
        "expected report data",
    );
  }
}

/** Verifier for plain TPM 2.0 evidence. */
export class TpmVerifier implements Verifier {
  readonly tee = "tpm" as const;
  readonly #trusted: TrustedAkKeys;

  constructor(options: VerifierOptions = {}) {
    this.#trusted = new TrustedAkKeys(options.trustedAkKeys ?? []);
  }

  async evaluate(input: VerifyInput): Promise<VerifiedClaims[]> {
    const ev = parseTpmEvidence(input.evidence);
    const q = quoteEvidence(this.tee, ev.message, ev.signature, ev.pcrs);
    if (!this.#trusted.has(ev.akSpki)) {
      throw new VerifierError(
        "bad-certificate-chain",
        `Cannot verify tpm evidence: ak_public is not one of the ${this.#trusted.size} ` +
          "trusted AK keys (configure trusted_ak_keys_dir / trustedAkKeys)",
      );
    }
    let key: CryptoKey;
    try {
      key = await importVerifyKey(ev.akSpki, ev.signature);
    } catch (err) {
      if (!(err instanceof TpmError)) throw err;
      throw new VerifierError("bad-evidence", `Cannot verify tpm evidence: ${err.message}`, {
        cause: err,
      });
    }
    await verifyQuoteSignature(this.tee, key, q, "the attestation key (ak_public)");
    await verifyPcrDigest(this.tee, q);
    if (input.reportData) checkTpmNonce(this.tee, q.info.extraData, input.reportData);
    await verifyInitDataPcr(this.tee, q, input.initDataHash);
    const claims: Record<string, JsonValue> = {
      ak_public: ev.akPublic,
      init_data: q.pcrs[INIT_DATA_PCR]!.toHex(),
      report_data: q.info.extraData.toHex(),
      ...pcrClaims(q.pcrs),
    };
    if (ev.eventLog || ev.aaEventLog) {
      const entries = [
        ...(ev.eventLog ? parseFirmwareLog(ev.eventLog) : []),
        ...(ev.aaEventLog ? parseAaEventLog(this.tee, ev.aaEventLog) : []),
      ];
      claims.uefi_event_logs = verifyEventLog(entries, q.pcrs);
    }
    return [{ claims, teeClass: "cpu" }];
  }
}
