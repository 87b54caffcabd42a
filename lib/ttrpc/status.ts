/**
 * gRPC status codes as ttrpc carries them in `Response.status.code`, and {@linkcode TtrpcError},
 * the one error type that crosses the ttrpc boundary in both directions.
 */
import { CodedError } from "../errors.ts";

/** gRPC status codes (google.rpc.Code). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A status code name, e.g. `"NOT_FOUND"`. */
export type CodeName = keyof typeof Code;
/** A status code number, e.g. `5`. */
export type Code = (typeof Code)[CodeName];

const NAMES: readonly CodeName[] = Object.keys(Code) as CodeName[];

/** The name of a status code; numbers outside 0–16 (from a misbehaving peer) give `"UNKNOWN"`. */
export function codeName(code: number): CodeName {
  return Number.isInteger(code) && code >= 0 && code < NAMES.length ? NAMES[code]! : "UNKNOWN";
}

/**
 * An RPC failure with a gRPC status. Thrown by handlers to choose the status a client sees, and
 * thrown by {@linkcode TtrpcClient} when the server answers with a non-OK status.
 *
 * `code` is the status name (stable, for matching); `status` is the wire number. A status number
 * outside 0–16 received from a peer is kept in `status` while `code` reads `"UNKNOWN"`.
 *
 * @example
 * ```ts
 * throw new TtrpcError(Code.NOT_FOUND, "Cannot get resource kbs:///a/b/c: not found");
 * ```
 */
export class TtrpcError extends CodedError<CodeName> {
  /** The numeric gRPC status code sent on the wire. */
  readonly status: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super(codeName(status), message, options);
    this.status = status;
  }
}
