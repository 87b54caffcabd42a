/**
 * Errors of the serving layer that have no upstream KBS variant: a time limit hit while
 * verifying evidence or evaluating a policy (503 `Timeout`), and the replica draining for
 * shutdown (503 `ShuttingDown`). Mapped to HTTP in `app.ts` with storage outages (503
 * `StorageUnavailable`).
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";

/** Codes of {@linkcode ServiceError}; they appear as the last segment of the error `type`. */
export type ServiceErrorCode = "Timeout" | "ShuttingDown" | "StorageUnavailable";

/** A transient refusal: the client may retry (on another replica). */
export class ServiceError extends CodedError<ServiceErrorCode> {}

/**
 * Runs `op` with a deadline: rejects with a `Timeout` {@linkcode ServiceError} naming `what` and
 * the configured `key` when it takes longer than `ms`. The operation itself is not cancelled
 * (its result is dropped).
 */
export async function withDeadline<T>(
  what: string,
  key: string,
  ms: number,
  op: Promise<T>,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new ServiceError("Timeout", `${what} took longer than ${ms} ms (limits.${key})`)),
      ms,
    );
  });
  try {
    return await Promise.race([op, deadline]);
  } finally {
    clearTimeout(timer);
    op.catch(() => {}); // a late rejection of the abandoned operation is not unhandled
  }
}
