/**
 * {@linkcode SignatureError}: policy and signature failures with a stable code, the requirement
 * type that decided and the policy scope it came from.
 */
import { CodedError } from "@coco/lib/errors";

/** Why a policy could not be loaded or an image was refused. */
export type SignatureErrorCode =
  /** policy.json is malformed or uses something unknown. */
  | "invalid-policy"
  /** A registries.d document is malformed. */
  | "invalid-registries-d"
  /** A public key (keyPath/keyData) could not be read or parsed. */
  | "invalid-key"
  /** A policy, key or signature could not be fetched (file, KBS, lookaside, registry). */
  | "unavailable"
  /** The scope's requirement is `reject`. */
  | "rejected"
  /** A signature was required but none was found. */
  | "no-signature"
  /** Signatures were found but none verified with the trusted keys (or were malformed). */
  | "invalid-signature"
  /** A valid signature names another image (signedIdentity rule). */
  | "identity-mismatch"
  /** A valid signature is for another manifest digest. */
  | "digest-mismatch";

/** A policy or signature failure. */
export class SignatureError extends CodedError<SignatureErrorCode> {
  /** The requirement type that refused the image (`signedBy`, `reject`…), when one did. */
  readonly requirement: string | undefined;
  /** The policy scope whose requirements applied (`""` transport default, `default`). */
  readonly scope: string | undefined;

  constructor(
    code: SignatureErrorCode,
    message: string,
    options?: { cause?: unknown; requirement?: string; scope?: string },
  ) {
    super(code, message, options);
    this.requirement = options?.requirement;
    this.scope = options?.scope;
  }
}
