/**
 * TPM 2.0 for attestation: big-endian marshalling of the structures attestation needs
 * (TPMS_ATTEST of a quote, TPMT_SIGNATURE, TPMT_PUBLIC / TPM2B_PUBLIC, TPML_PCR_SELECTION), PCR
 * digest and extend arithmetic, and a TPM command client over `/dev/tpmrm0` or swtpm's socket
 * (Startup, GetRandom, PCR_Read, PCR_Extend, CreatePrimary, ReadPublic, Quote, FlushContext,
 * NV_ReadPublic, NV_Read, NV_DefineSpace, NV_UndefineSpace, NV_Write, EvictControl) with response codes decoded into readable errors.
 *
 * @example
 * ```ts
 * const tpm = await TpmClient.open({ socket: "/tmp/swtpm/tpm.sock" });
 * await tpm.startup();
 * const pcrs = await tpm.readAllPcrs();
 * ```
 *
 * @module
 */
export { TpmError, type TpmErrorCode } from "./errors.ts";
export {
  algName,
  DIGEST_SIZES,
  TPM_ALG,
  TPM_CC,
  TPM_ECC,
  TPM_GENERATED_VALUE,
  TPM_RH,
  TPM_ST,
  TPMA_NV,
  TPMA_OBJECT,
  webCryptoHash,
} from "./constants.ts";
export { TpmReader, TpmWriter } from "./buffer.ts";
export { parseQuoteAttest, type TpmQuoteInfo } from "./attest.ts";
export {
  importVerifyKey,
  marshalTpmSignature,
  parseTpmSignature,
  readTpmSignature,
  type TpmSignature,
  verifyTpmSignature,
} from "./signature.ts";
export {
  marshalTpmPublic,
  parseTpm2bPublic,
  readTpmPublic,
  spkiToPem,
  type TpmEccPublic,
  type TpmPublic,
  tpmPublicToJwk,
  tpmPublicToSpki,
  type TpmRsaPublic,
} from "./public.ts";
export {
  allPcrs,
  extendPcr,
  PCR_COUNT,
  pcrDigest,
  type PcrSelection,
  readPcrSelection,
  writePcrSelection,
} from "./pcr.ts";
export { akTemplate, EK_CERT_NV_INDEX_RSA, ekRsaTemplate } from "./templates.ts";
export { describeRc, RC_INITIALIZE, rcBase } from "./rc.ts";
export { describeTarget, openTransport, type TpmTarget, type TpmTransport } from "./transport.ts";
export { type LoadedKey, type QuoteResult, TpmClient } from "./client.ts";
export { startSwtpm, type Swtpm } from "./swtpm.ts";
export {
  AZURE_AK_HANDLE,
  HCL_REPORT_NV_INDEX,
  HCL_USER_DATA_NV_INDEX,
  type HclReport,
  parseHclReport,
} from "./hcl.ts";
