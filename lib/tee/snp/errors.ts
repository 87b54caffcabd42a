/** Error type for SEV-SNP report, evidence and certificate-table decoding. */
import { CodedError } from "../../errors.ts";

/** Why SNP input could not be decoded. */
export type SnpFormatErrorCode =
  /** The binary report is not 1184 bytes or a field is malformed. */
  | "invalid-report"
  /** The evidence JSON does not have the sev-crate serde shape. */
  | "invalid-evidence"
  /** The report VERSION is outside 2..5. */
  | "unsupported-version"
  /** The CPUID family/model (or CHIP_ID heuristic) names no known product. */
  | "unsupported-product"
  /** The GHCB certificate table is truncated or points outside its buffer. */
  | "invalid-cert-table";

/** SNP input could not be decoded; the message names the field. */
export class SnpFormatError extends CodedError<SnpFormatErrorCode> {}
