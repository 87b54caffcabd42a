/** Field readers for collateral JSON; each throws a TypeError naming the path. */
import { isJsonObject } from "@coco/lib/json";

export function record(v: unknown, path: string): Record<string, unknown> {
  if (!isJsonObject(v)) throw new TypeError(`${path} must be an object`);
  return v;
}

export function text(v: unknown, path: string): string {
  if (typeof v !== "string") throw new TypeError(`${path} must be a string`);
  return v;
}

export function intField(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
    throw new TypeError(`${path} must be a non-negative integer`);
  }
  return v;
}

export function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`${path} must be an array`);
  return v;
}

export function optArr(v: unknown, path: string): unknown[] {
  return v === undefined ? [] : arr(v, path);
}

export function hexField(v: unknown, path: string): Uint8Array {
  const s = text(v, path);
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new TypeError(`${path} must be hex`);
  return Uint8Array.fromHex(s.toLowerCase());
}

export function isoField(v: unknown, path: string): Date {
  const d = new Date(text(v, path));
  if (Number.isNaN(d.getTime())) throw new TypeError(`${path} must be an RFC 3339 date`);
  return d;
}
