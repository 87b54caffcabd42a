import type { JsonValue } from "@coco/lib/json";
import type { Tee } from "@coco/lib/kbs";
import { CodedError } from "@coco/lib/errors";

/** Device class of a piece of evidence; names the EAR submod (`cpu0`, `gpu0`, …). */
export type TeeClass = "cpu" | "gpu" | "switch" | "ppcie" | "dcu" | "nvidia-dpu";

/** What the verifier must check the evidence is bound to. */
export interface VerifyInput {
  evidence: JsonValue;
  /** Expected report data (already hashed by the caller), or undefined to skip the check. */
  reportData?: Uint8Array;
  /** Expected init-data digest, or undefined when no init-data was supplied. */
  initDataHash?: Uint8Array;
}

/** Claims a verifier extracted from one piece of evidence, with its device class. */
export interface VerifiedClaims {
  /** TEE-specific claims; `report_data` and `init_data` keys are lifted out by the AS. */
  claims: Record<string, JsonValue>;
  teeClass: TeeClass;
}

/** Checks one TEE's evidence cryptographically and returns its claims. */
export interface Verifier {
  readonly tee: Tee;
  evaluate(input: VerifyInput): Promise<VerifiedClaims[]>;
}

export type VerifierErrorCode =
  | "bad-evidence"
  | "report-data-mismatch"
  | "init-data-mismatch"
  | "unsupported-tee"
  /** A signature over the evidence (report, quote, TPM quote, token) does not verify. */
  | "bad-signature"
  /** A certificate chain does not lead to the pinned vendor root, or a certificate is invalid. */
  | "bad-certificate-chain"
  /** A certificate or collateral is outside its validity period at the verification time. */
  | "expired"
  /** A certificate or key has been revoked (CRL). */
  | "revoked"
  /** The TCB reported by the evidence does not match its endorsement (certificate, collateral). */
  | "tcb-mismatch"
  /** Evidence is well-formed and signed but violates a hard rule (e.g. VMPL, debug, hardware id). */
  | "policy-violation"
  /** Collateral or certificates needed for verification could not be obtained. */
  | "collateral-unavailable";

/** Construction options shared by all verifiers; each verifier reads the ones it needs. */
export interface VerifierOptions {
  /** Verification time for certificate and collateral validity; defaults to the current time. */
  now?: () => Date;
  /** Directory with offline collateral (TDX TCB info, QE identity, CRLs, issuer chains; SNP VCEK/VLEK certificates). */
  collateralDir?: string;
  /** Base URL of a PCCS or Intel PCS for TDX/SGX collateral. */
  pccsUrl?: string;
  /** Base URL of the AMD KDS for SNP VCEK certificates. */
  kdsUrl?: string;
  /** PEM (SPKI) public keys of TPM attestation keys the `tpm` verifier trusts. */
  trustedAkKeys?: readonly string[];
  /** Fetch used for collateral; tests inject one that serves loopback or files. */
  fetch?: typeof fetch;
}

/** Evidence could not be verified; the message says which check failed. */
export class VerifierError extends CodedError<VerifierErrorCode> {}
