/**
 * {@linkcode OcicryptError}: every failure of layer encryption or decryption, with a stable code.
 */
import { CodedError } from "@coco/lib/errors";

/** Why a layer could not be encrypted or decrypted. */
export type OcicryptErrorCode =
  /** The descriptor is not an encrypted layer or lacks what decryption needs. */
  | "not-encrypted"
  /** An annotation, option JSON or keyprovider message is malformed. */
  | "bad-annotation"
  /** No configured key or key provider could unwrap the layer key. */
  | "no-key"
  /** A private key file or resource could not be parsed. */
  | "bad-key"
  /** The cipher named in the public options is not supported. */
  | "unsupported-cipher"
  /** The HMAC over the ciphertext did not match: tampered, truncated or wrong key. */
  | "bad-hmac"
  /** The decrypted blob's digest differs from the one sealed in the private options. */
  | "bad-digest"
  /** A key provider failed (transport, KBS, or its answer). */
  | "keyprovider"
  /** The decrypt-config string could not be understood. */
  | "bad-config";

/** An ocicrypt failure; the message names the layer or key involved. */
export class OcicryptError extends CodedError<OcicryptErrorCode> {}
