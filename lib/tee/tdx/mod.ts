/**
 * Intel TDX quote layout (v4/v5, TD 1.0/1.5 bodies, signature data): typed parse shared by the
 * attester and the verifier, and an encoder for the signature data (tests, re-signing tools).
 *
 * @example
 * ```ts
 * import { parseTdxQuote } from "@coco/lib/tee/tdx";
 * const quote = parseTdxQuote(await Deno.readFile("quote.dat"));
 * console.log(quote.header.version, quote.body.mrTd);
 * ```
 *
 * @module
 */
export {
  INTEL_QE_VENDOR_ID,
  parseSgxReportBody,
  parseTdReportBody,
  parseTdxQuote,
  SGX_REPORT_BODY_SIZE,
  type SgxReportBody,
  TD10_BODY_SIZE,
  TD15_BODY_SIZE,
  type TdReportBody,
  type TdxQuote,
  TdxQuoteError,
  type TdxQuoteErrorCode,
  type TdxQuoteHeader,
  type TdxSignatureData,
  TEE_TYPE_TDX,
} from "./quote.ts";
export { encodeTdxQuote, encodeTdxSignatureData, type TdxSignatureDataInput } from "./encode.ts";
