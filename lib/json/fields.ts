/**
 * Small field readers for hand-written `parseX(input: unknown)` functions. Each throws a
 * `TypeError` naming the field path; callers wrap it in their own typed error.
 */
import { isJsonObject } from "./mod.ts";

/** Requires a plain object. */
export function obj(value: unknown, path: string): Record<string, unknown> {
  if (!isJsonObject(value)) throw new TypeError(`${path} must be an object`);
  return value;
}

/** Requires a string. */
export function str(value: unknown, path: string): string {
  if (typeof value !== "string") throw new TypeError(`${path} must be a string`);
  return value;
}

/** Optional string: `undefined`/`null` pass through as `undefined`. */
export function optStr(value: unknown, path: string): string | undefined {
  return value === undefined || value === null ? undefined : str(value, path);
}

/** Requires a finite number. */
export function num(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new TypeError(`${path} must be a number`);
  }
  return value;
}

/** Requires a boolean. */
export function bool(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw new TypeError(`${path} must be a boolean`);
  return value;
}

/** Requires an array of strings. */
export function strArray(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) throw new TypeError(`${path} must be an array of strings`);
  return value.map((v, i) => str(v, `${path}[${i}]`));
}

/** Rejects members other than `allowed` (for strict config sections). */
export function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], path: string) {
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) {
      throw new TypeError(
        `${path}: unknown field \`${k}\` (expected one of ${allowed.join(", ")})`,
      );
    }
  }
}
