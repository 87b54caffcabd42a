import { CodedError } from "@coco/lib/errors";

/** Stable codes of {@linkcode StorageError}. */
export type StorageErrorCode = "invalid-namespace" | "invalid-key" | "corrupt" | "io" | "config";

/** Where a storage error happened; both parts are named in the message. */
export interface StorageErrorContext {
  namespace?: string;
  key?: string;
  cause?: unknown;
}

/** A storage failure; the message names the namespace and key when there is one. */
export class StorageError extends CodedError<StorageErrorCode> {
  /** Namespace the failing operation addressed, if any. */
  readonly namespace: string | undefined;
  /** Key the failing operation addressed, if any. */
  readonly key: string | undefined;

  constructor(code: StorageErrorCode, message: string, context: StorageErrorContext = {}) {
    super(code, message, context.cause === undefined ? undefined : { cause: context.cause });
    this.namespace = context.namespace;
    this.key = context.key;
  }
}
