/** Errors of the Azure vTPM attesters (`az-snp-vtpm`, `az-tdx-vtpm`). */
import { CodedError } from "@coco/lib/errors";

/** Which step of producing Azure vTPM evidence failed. */
export type AzVtpmErrorCode =
  /** Report data longer than the 64 bytes the user-data NV index and TPM2B_DATA hold. */
  | "report-data-too-long"
  /** The user-data NV index 0x01400002 could not be defined or written. */
  | "user-data-write"
  /** The HCL report NV index 0x01400001 is missing or unreadable (not an Azure CVM?). */
  | "hcl-unavailable"
  /** The HCL report does not parse (signature, IGVM header, variable data JSON). */
  | "hcl-malformed"
  /** The HCL report holds the other TEE's hardware report (SNP vs TDX). */
  | "hcl-wrong-type"
  /** The HCL report's `user-data` never reflected the report data written to 0x01400002. */
  | "hcl-stale"
  /** The vTPM attestation key 0x81000003 is missing or not an RSA signing key. */
  | "ak-unavailable"
  /** The AK in the TPM is not the `HCLAkPub` the HCL report publishes. */
  | "ak-mismatch"
  /** TPM2_Quote or the PCR read failed. */
  | "quote-failed"
  /** Azure IMDS could not be reached or answered with an HTTP error. */
  | "imds-unreachable"
  /** Azure IMDS answered, but not with the JSON document expected. */
  | "imds-bad-response";

/** Azure vTPM evidence could not be produced; the message names the step and the input. */
export class AzVtpmError extends CodedError<AzVtpmErrorCode> {}
