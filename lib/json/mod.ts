/**
 * JSON helpers: RFC 8785 canonicalization and the `JsonValue` type.
 *
 * @module
 */
export { canonicalize, CanonicalJsonError } from "./canonical.ts";

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
  [key: string]: JsonValue;
};

/** Narrows `unknown` to a plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
