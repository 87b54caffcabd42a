/**
 * {@linkcode AgentError}: every failure the agent reports to the host. The service maps its
 * `code` to a ttrpc status in one place (`service.ts`).
 */
import { CodedError } from "@coco/lib/errors";

/** Stable error codes; each maps to one gRPC status. */
export type AgentErrorCode =
  | "invalid-argument"
  | "not-found"
  | "already-exists"
  | "permission-denied"
  | "failed-precondition"
  | "unavailable"
  | "unimplemented"
  | "internal";

/**
 * An agent failure with a message naming the input, e.g.
 * `Cannot create container c1: Root.Path "/etc" is outside /run/kata-containers/c1`.
 */
export class AgentError extends CodedError<AgentErrorCode> {}

/** Shorthand for `new AgentError(code, message, { cause })`. */
export function agentError(code: AgentErrorCode, message: string, cause?: unknown): AgentError {
  return new AgentError(code, message, cause === undefined ? undefined : { cause });
}
