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
  | "unsupported-tee";

/** Evidence could not be verified; the message says which check failed. */
export class VerifierError extends CodedError<VerifierErrorCode> {}
