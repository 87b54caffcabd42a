/**
 * {@linkcode ShimError}: every failure the shim reports, with a stable code. `task_service.ts`
 * maps the codes to ttrpc status codes in one place (containerd's errdefs rely on them:
 * NOT_FOUND from Delete is tolerated, UNIMPLEMENTED marks unsupported RPCs).
 */
import { CodedError } from "@coco/lib/errors";

/** Error codes of the shim. */
export type ShimErrorCode =
  | "bad-flags"
  | "bad-bundle"
  | "bad-config"
  | "bad-request"
  | "not-found"
  | "already-exists"
  | "failed-precondition"
  | "unimplemented"
  | "start-failed"
  | "internal";

/** A shim error; `code` selects the ttrpc status. */
export class ShimError extends CodedError<ShimErrorCode> {}

/** Shorthand constructor. */
export function shimError(code: ShimErrorCode, message: string, cause?: unknown): ShimError {
  return new ShimError(code, message, cause === undefined ? undefined : { cause });
}
