import { CodedError } from "../errors.ts";

/**
 * The KBS error variants, spelled as upstream's Rust enum (they appear on the wire as
 * `https://github.com/confidential-containers/kbs/errors/<Variant>`).
 */
export type KbsErrorCode =
  | "AdminAuthInitialization"
  | "AdminAuthAccess"
  | "AttestationError"
  | "HTTPFailed"
  | "HTTPSFailed"
  | "InvalidRequestPath"
  | "JweError"
  | "PluginManagerInitialization"
  | "PluginNotFound"
  | "PluginInternalError"
  | "PolicyDeny"
  | "ParsePolicyError"
  | "PolicyEngineError"
  | "RvpsError"
  | "SerdeError"
  | "StorageBackendInitialization"
  | "TokenNotFound"
  | "TokenVerifierError"
  | "PrometheusError"
  | "PayloadTooLarge"
  | "ResourceNotFound"
  | "InternalError";

/** Prefix of the `type` member of an ErrorInformation body. */
export const ERROR_TYPE_PREFIX = "https://github.com/confidential-containers/kbs/errors/";

/** An error raised while serving the KBS protocol; mapped to HTTP in exactly one place. */
export class KbsError extends CodedError<KbsErrorCode> {}

/**
 * HTTP status for a KBS error code: upstream uses 404 for two codes and 401 for all others. We add
 * 404 for a missing resource (upstream: 401, which makes guests re-attest three times), 413 for
 * an oversized body and 500 for internal faults (upstream never answers 5xx).
 */
export function kbsErrorStatus(code: KbsErrorCode): 401 | 404 | 413 | 500 {
  if (code === "InvalidRequestPath" || code === "PluginNotFound" || code === "ResourceNotFound") {
    return 404;
  }
  if (code === "PayloadTooLarge") return 413;
  if (code === "InternalError") return 500;
  return 401;
}
