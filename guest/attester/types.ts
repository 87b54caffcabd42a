/**
 * What the Attestation Agent needs from an attester beyond evidence: binding init-data to the
 * hardware (spec/guest.md §8.3) and extending runtime-measurement registers (§1.6).
 */
import { CodedError } from "@coco/lib/errors";
import type { EvidenceProvider } from "@coco/lib/tee";

/** Outcome of {@linkcode Attester.bindInitData}. */
export type InitDataBinding =
  /** The hardware field (SNP HOSTDATA, TDX MRCONFIGID, TPM PCR 8) already holds the digest. */
  | { status: "matched"; field: string }
  /** The digest was measured now (TPM: PCR 8 extended from zero). */
  | { status: "extended"; field: string }
  /** The TEE has no field for init-data (sample); nothing is bound. */
  | { status: "unsupported"; reason: string };

/** Why init-data could not be bound. */
export type InitDataErrorCode = "init-data-mismatch" | "init-data-unavailable";

/** The hardware value does not match the init-data digest, or could not be read. */
export class InitDataBindingError extends CodedError<InitDataErrorCode> {}

/** Runtime-measurement registers of a platform (TDX RTMRs, TPM PCRs) or a log-only stand-in. */
export interface RuntimeRegisters {
  /** TPM_ALG_ID of the digests extended and logged (TDX SHA-384, TPM SHA-256). */
  readonly algId: number;
  /** Whether the registers can be extended here (TDX: the kernel's RTMR files exist). */
  supported(): Promise<boolean>;
  /** The measurement-register index written in the AAEL entry for a PCR index. */
  logIndex(pcr: number): number;
  /** Extends the register of `pcr` with `digest` (a no-op for the log-only sample). */
  extend(pcr: number, digest: Uint8Array): Promise<void>;
  /** The register's value, or undefined when it cannot be read (sample). */
  read(pcr: number): Promise<Uint8Array | undefined>;
}

/** An evidence provider the AA can also bind init-data with and measure into. */
export interface Attester extends EvidenceProvider {
  /** Compares (or, for TPMs, measures) the init-data digest against the hardware. */
  bindInitData(digest: Uint8Array): Promise<InitDataBinding>;
  /** Undefined when the platform cannot extend runtime measurements (snp). */
  readonly registers?: RuntimeRegisters | undefined;
}
