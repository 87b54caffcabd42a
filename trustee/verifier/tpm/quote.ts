/**
 * TPM quote checks shared by the `tpm`, `az-snp-vtpm` and `az-tdx-vtpm` verifiers: signature
 * with the attestation key, PCR digest, nonce (extraData) and the init-data binding in PCR 8.
 */
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual } from "@coco/lib/bytes";
import {
  parseQuoteAttest,
  pcrDigest,
  TPM_ALG,
  TpmError,
  type TpmQuoteInfo,
  type TpmSignature,
  verifyTpmSignature,
} from "@coco/lib/tee/tpm";
import { VerifierError } from "../types.ts";

/** A TPM quote as carried in evidence: signed TPMS_ATTEST, its signature and the PCR values. */
export interface QuoteEvidence {
  message: Uint8Array;
  signature: TpmSignature;
  info: TpmQuoteInfo;
  /** SHA-256 PCR values 0-23, in index order. */
  pcrs: Uint8Array[];
}

/** PCR that carries the init-data digest (single extend from zero). */
export const INIT_DATA_PCR = 8;

/** Parses TPMS_ATTEST and checks the PCR list shape; errors are `bad-evidence` for `tee`. */
export function quoteEvidence(
  tee: string,
  message: Uint8Array,
  signature: TpmSignature,
  pcrs: Uint8Array[],
): QuoteEvidence {
  let info: TpmQuoteInfo;
  try {
    info = parseQuoteAttest(message);
  } catch (err) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify ${tee} evidence: ${(err as Error).message}`,
      { cause: err },
    );
  }
  if (pcrs.length !== 24 || pcrs.some((p) => p.length !== 32)) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify ${tee} evidence: expected 24 SHA-256 PCR values of 32 bytes, ` +
        `got ${pcrs.length}`,
    );
  }
  return { message, signature, info, pcrs };
}

/** Verifies the quote signature with `key`; `bad-signature` when it does not verify. */
export async function verifyQuoteSignature(
  tee: string,
  key: CryptoKey,
  q: QuoteEvidence,
  what = "the attestation key",
): Promise<void> {
  let ok: boolean;
  try {
    ok = await verifyTpmSignature(key, q.signature, q.message);
  } catch (err) {
    if (!(err instanceof TpmError)) throw err;
    throw new VerifierError("bad-signature", `Cannot verify ${tee} evidence: ${err.message}`, {
      cause: err,
    });
  }
  if (!ok) {
    throw new VerifierError(
      "bad-signature",
      `Cannot verify ${tee} evidence: the TPM quote is not signed by ${what}`,
    );
  }
}

/**
 * Checks that the quote selects SHA-256 PCRs 0-23 (so each value's index is known) and that
 * SHA-256 of the concatenated values equals the signed pcrDigest.
 */
export async function verifyPcrDigest(tee: string, q: QuoteEvidence): Promise<void> {
  const sel = q.info.pcrSelect;
  const all = sel.length === 1 && sel[0]!.hash === TPM_ALG.SHA256 &&
    sel[0]!.pcrs.length === 24 && sel[0]!.pcrs.every((p, i) => p === i);
  if (!all) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify ${tee} evidence: the quote must select SHA-256 PCRs 0-23, it selects ` +
        sel.map((s) => `bank 0x${s.hash.toString(16)} [${s.pcrs.join(",")}]`).join("; "),
    );
  }
  const digest = await pcrDigest(TPM_ALG.SHA256, q.pcrs);
  if (!bytesEqual(digest, q.info.pcrDigest)) {
    throw new VerifierError(
      "bad-signature",
      `Cannot verify ${tee} evidence: the PCR values do not match the quote's signed PCR digest ` +
        `(computed ${digest.toHex()}, quoted ${q.info.pcrDigest.toHex()})`,
    );
  }
}

/**
 * PCR 8 must equal SHA-256(32 zero bytes ‖ hash): one extend from reset with the 32-byte
 * init-data digest. Skipped when no init-data hash is expected.
 */
export async function verifyInitDataPcr(
  tee: string,
  q: QuoteEvidence,
  initDataHash: Uint8Array | undefined,
): Promise<void> {
  if (initDataHash === undefined) return;
  if (initDataHash.length !== 32) {
    throw new VerifierError(
      "init-data-mismatch",
      `Cannot verify ${tee} evidence: the init-data digest is ${initDataHash.length} bytes; ` +
        "PCR 8 binding needs a 32-byte (sha256) digest",
    );
  }
  const expected = await pcrDigest(TPM_ALG.SHA256, [new Uint8Array(32), initDataHash]);
  if (!bytesEqual(expected, q.pcrs[INIT_DATA_PCR]!)) {
    throw new VerifierError(
      "init-data-mismatch",
      `Cannot verify ${tee} evidence: PCR ${INIT_DATA_PCR} (${q.pcrs[INIT_DATA_PCR]!.toHex()}) ` +
        `is not the init-data digest extended once from zero (${expected.toHex()})`,
    );
  }
}

/** `{pcr00: hex, …, pcr23: hex}`. */
export function pcrClaims(pcrs: readonly Uint8Array[]): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  pcrs.forEach((p, i) => (out[`pcr${String(i).padStart(2, "0")}`] = p.toHex()));
  return out;
}
