/**
 * Errors of the image pull pipeline. Each carries a stable code; messages name the image, the
 * registry, the layer or the file that was wrong.
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";

/** Stable codes for image pull failures. */
export type ImageErrorCode =
  | "registry_unreachable"
  | "auth_failed"
  | "not_found"
  | "registry_error"
  | "too_large"
  | "digest_mismatch"
  | "size_mismatch"
  | "too_many_redirects"
  | "unsupported_media_type"
  | "no_matching_platform"
  | "blocked"
  | "invalid_config_file"
  | "invalid_image"
  | "diff_id_mismatch"
  | "signature_rejected"
  | "decrypt_failed"
  | "unpack_failed"
  | "bundle_failed"
  | "pull_failed";

/** A failure while pulling, verifying, unpacking or bundling an image. */
export class ImageError extends CodedError<ImageErrorCode> {}
