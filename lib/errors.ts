/**
 * Base error shape for the project: a stable string `code` from a literal union, a message that
 * names the input and says what could not be done, and the underlying error as `cause`.
 *
 * @module
 */

/** An error with a stable machine-readable code. Extend it per domain with a code union. */
export class CodedError<C extends string = string> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Returns `err.message` for errors, `String(err)` otherwise. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
