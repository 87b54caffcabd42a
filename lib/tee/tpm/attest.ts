/** TPMS_ATTEST of a quote (the signed quote "message"), TPM 2.0 Part 2 §10.12. */
import { TpmReader } from "./buffer.ts";
import { TPM_GENERATED_VALUE, TPM_ST } from "./constants.ts";
import { TpmError } from "./errors.ts";
import { type PcrSelection, readPcrSelection } from "./pcr.ts";

/** A parsed TPMS_ATTEST whose `type` is TPM_ST_ATTEST_QUOTE. */
export interface TpmQuoteInfo {
  /** TPM2B_NAME of the signing key (nameAlg ‖ digest). */
  qualifiedSigner: Uint8Array;
  /** TPM2B_DATA extraData: the qualifying data (nonce) given to TPM2_Quote. */
  extraData: Uint8Array;
  clockInfo: { clock: bigint; resetCount: number; restartCount: number; safe: boolean };
  firmwareVersion: bigint;
  pcrSelect: PcrSelection[];
  pcrDigest: Uint8Array;
}

/**
 * Parses TPMS_ATTEST bytes of a quote. Throws {@linkcode TpmError} `malformed` for a wrong
 * magic, a type other than quote, truncation or trailing bytes.
 */
export function parseQuoteAttest(bytes: Uint8Array): TpmQuoteInfo {
  const r = new TpmReader(bytes, "TPMS_ATTEST");
  const magic = r.u32("magic");
  if (magic !== TPM_GENERATED_VALUE) {
    throw new TpmError(
      "malformed",
      `Cannot parse TPMS_ATTEST: magic is 0x${magic.toString(16)}, expected 0xff544347 ` +
        "(TPM_GENERATED_VALUE)",
    );
  }
  const type = r.u16("type");
  if (type !== TPM_ST.ATTEST_QUOTE) {
    throw new TpmError(
      "malformed",
      `Cannot parse TPMS_ATTEST: type is 0x${type.toString(16)}, expected 0x8018 (quote)`,
    );
  }
  const qualifiedSigner = r.sized("qualifiedSigner", 2 + 64);
  const extraData = r.sized("extraData", 64);
  const clockInfo = {
    clock: r.u64("clockInfo.clock"),
    resetCount: r.u32("clockInfo.resetCount"),
    restartCount: r.u32("clockInfo.restartCount"),
    safe: r.u8("clockInfo.safe") !== 0,
  };
  const firmwareVersion = r.u64("firmwareVersion");
  const pcrSelect = readPcrSelection(r);
  const pcrDigest = r.sized("pcrDigest", 64);
  r.end();
  return { qualifiedSigner, extraData, clockInfo, firmwareVersion, pcrSelect, pcrDigest };
}
