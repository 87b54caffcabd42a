/** Errors raised by the TPM 2.0 structure parsers and the command client. */
import { CodedError } from "../../errors.ts";

/**
 * - `malformed`: bytes do not form the expected TPM structure (truncated, wrong magic, trailing bytes).
 * - `unsupported`: a well-formed structure uses an algorithm or type this code does not handle.
 * - `tpm-response`: the TPM answered a command with a non-zero response code (see `rc`).
 * - `transport`: the device or socket could not be opened, written or read.
 */
export type TpmErrorCode = "malformed" | "unsupported" | "tpm-response" | "transport";

/** A TPM structure or command failed; `rc` is set for `tpm-response`. */
export class TpmError extends CodedError<TpmErrorCode> {
  readonly rc: number | undefined;
  constructor(code: TpmErrorCode, message: string, options?: { cause?: unknown; rc?: number }) {
    super(code, message, options);
    this.rc = options?.rc;
  }
}
