import { CodedError } from "@coco/lib/errors";

/** Why no attester could be chosen. */
export type AttesterErrorCode = "unknown-tee" | "unsupported-tee" | "no-tee" | "bad-tpm-config";

/** Start-up failure choosing the attester; the message says what to pass instead. */
export class AttesterError extends CodedError<AttesterErrorCode> {}
