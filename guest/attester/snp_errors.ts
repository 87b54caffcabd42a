/** Errors of the SEV-SNP attester. */
import { CodedError } from "@coco/lib/errors";

/** Why SNP evidence could not be produced. */
export type SnpAttesterErrorCode =
  /** Report data longer than the 64-byte REPORT_DATA field. */
  | "report-data-too-long"
  /** configfs-tsm is missing or a file operation on it failed. */
  | "tsm-unavailable"
  /** The TSM provider is not the SEV-SNP guest driver. */
  | "wrong-provider"
  /** Another writer changed the entry while we were reading it. */
  | "tsm-race"
  /** The firmware returned something that is not a valid report or certificate table. */
  | "bad-report";

/** SNP evidence could not be produced; the message says which step failed. */
export class SnpAttesterError extends CodedError<SnpAttesterErrorCode> {}
