/**
 * The error every rejected or failed layer raises: a stable `code`, the tar entry it concerns
 * (when there is one) and the underlying error as `cause`.
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";

/** Why a layer could not be unpacked. */
export type UnpackErrorCode =
  /** The stream ended inside a header or an entry, or without the end-of-archive marker. */
  | "truncated"
  /** A header's checksum does not match its bytes. */
  | "bad_checksum"
  /** A malformed header field, PAX record or GNU long-name record. */
  | "bad_header"
  /** A PAX or GNU long-name/long-link record larger than the configured limit. */
  | "header_too_large"
  /** A name that is not UTF-8, holds NUL, or exceeds PATH_MAX / NAME_MAX. */
  | "bad_name"
  /** An entry type we do not extract (sparse, multi-volume, aufs metadata …). */
  | "unsupported_entry"
  /** A `..` component in an entry path. */
  | "unsafe_path"
  /** A parent directory of the entry (or of a hard link's target) is a symlink. */
  | "symlink_in_path"
  /** A parent of the entry exists and is not a directory. */
  | "not_a_directory"
  /** A hard link whose target escapes the target directory, is missing, or is a directory. */
  | "unsafe_link"
  /** A char/block device while `allowDevices` is false. */
  | "device_not_allowed"
  /** A path that appears twice in the layer, or that replaces a directory the layer uses. */
  | "duplicate_entry"
  /** A whiteout naming `.`, `..`, nothing, or placed inside a whiteout-named directory. */
  | "bad_whiteout"
  /** An xattr in a namespace a layer may not set (overlayfs control attributes). */
  | "forbidden_xattr"
  /** A uid or gid outside the configured id mapping. */
  | "id_unmapped"
  /** The input stream produced something other than bytes, or failed. */
  | "bad_stream"
  /** The caller's options are invalid (bad id mapping, limits, target directory). */
  | "invalid_options"
  /** A filesystem call failed while applying a valid entry (see `cause`). */
  | "apply_failed";

/** A layer that could not be unpacked; `entry` is the tar path it concerns, if any. */
export class UnpackError extends CodedError<UnpackErrorCode> {
  /** The entry's path as written in the archive (after PAX/GNU overrides). */
  readonly entry: string | undefined;
  /** The reason alone, without the "Cannot unpack …" prefix. */
  readonly reason: string;

  constructor(
    code: UnpackErrorCode,
    entry: string | undefined,
    reason: string,
    options?: { cause?: unknown },
  ) {
    const where = entry === undefined ? "layer" : `layer entry ${JSON.stringify(entry)}`;
    super(code, `Cannot unpack ${where}: ${reason}`, options);
    this.entry = entry;
    this.reason = reason;
  }
}
