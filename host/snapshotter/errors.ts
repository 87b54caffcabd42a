/**
 * Errors of the proxy snapshotter. Codes follow containerd's errdefs classes, which the gRPC
 * server maps to status codes in one place (`service.ts`): containerd turns those statuses back
 * into errdefs errors, so `already_exists` from Prepare means "layer present, skip unpack".
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";

/** containerd errdefs classes the snapshotter answers with. */
export type SnapshotErrorCode =
  | "not_found"
  | "already_exists"
  | "failed_precondition"
  | "invalid_argument"
  | "internal";

/** A snapshot operation failed; `code` decides the gRPC status containerd sees. */
export class SnapshotError extends CodedError<SnapshotErrorCode> {}

/** The metadata file under `--root` could not be read or does not have the expected shape. */
export class SnapshotStoreError extends CodedError<"store_corrupt" | "store_io"> {}
