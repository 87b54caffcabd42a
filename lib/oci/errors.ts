/**
 * Errors raised while parsing OCI references, media types, descriptors, manifests and indexes.
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/** Stable codes for OCI parsing failures. */
export type OciErrorCode =
  | "invalid_reference"
  | "invalid_digest"
  | "invalid_media_type"
  | "invalid_descriptor"
  | "invalid_manifest"
  | "invalid_index"
  | "invalid_config"
  | "invalid_platform"
  | "no_matching_platform";

/** A malformed image reference, digest, descriptor, manifest, index or config. */
export class OciError extends CodedError<OciErrorCode> {}
