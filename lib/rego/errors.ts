/** The one error class of the Rego engine. */

import { CodedError } from "../errors.ts";

/** Error codes: syntax, compile-time checks, evaluation (incl. strict builtin errors),
 * resource limits, and conflicting rule outputs. */
export type RegoErrorCode = "parse" | "compile" | "eval" | "limit" | "conflict";

/** Any failure to parse, compile or evaluate a policy. Messages name `file:line:col`. */
export class RegoError extends CodedError<RegoErrorCode> {}

/** True for the JS engine's stack overflow (deep recursion), which the engine reports as a
 * RegoError("limit"). */
export function isStackOverflow(e: unknown): e is RangeError {
  return e instanceof RangeError && e.message.includes("call stack");
}
