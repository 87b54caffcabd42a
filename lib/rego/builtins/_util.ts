/** Builtin registry types and argument helpers (messages follow regorus). */

import { ObjectValue, SetValue, typeName, type Value } from "../value.ts";

/** A builtin failed on its arguments (undefined in non-strict mode, an error in strict). */
export class BuiltinError extends Error {}

/** What builtins may ask the evaluator for. */
export interface BuiltinContext {
  /** Wall clock in ns, fixed for one evaluation. */
  nowNs(): number;
}

/** A builtin implementation. Returning undefined means "undefined". */
export type BuiltinFn = (args: Value[], ctx: BuiltinContext) => Value | undefined;

/** A builtin with its arity (-1: variadic). */
export interface Builtin {
  arity: number;
  fn: BuiltinFn;
}

/** Registry type. */
export type BuiltinTable = Map<string, Builtin>;

/** Renders a value for error messages (JSON-like). */
export function show(v: Value): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v === null || typeof v !== "object") return String(v);
  if (Array.isArray(v)) return "[" + v.map(show).join(", ") + "]";
  if (v instanceof SetValue) return "{" + v.values().map(show).join(", ") + "}";
  const o = v as ObjectValue;
  return "{" + [...o.entries()].map(([k, x]) => `${show(k)}: ${show(x)}`).join(", ") + "}";
}

/** Throws the regorus-style type error. */
export function typeError(name: string, what: string, v: Value): never {
  throw new BuiltinError(`\`${name}\` expects ${what} argument. Got \`${show(v)}\` instead`);
}

export function str(name: string, v: Value | undefined): string {
  if (typeof v !== "string") typeError(name, "string", v ?? null);
  return v;
}
export function num(name: string, v: Value | undefined): number {
  if (typeof v !== "number") typeError(name, "numeric", v ?? null);
  return v;
}
export function int(name: string, v: Value | undefined): number {
  const n = num(name, v);
  if (!Number.isInteger(n)) {
    throw new BuiltinError(`\`${name}\` expects integer argument. Got \`${n}\` instead`);
  }
  return n;
}
export function bool(name: string, v: Value | undefined): boolean {
  if (typeof v !== "boolean") typeError(name, "boolean", v ?? null);
  return v;
}
export function arr(name: string, v: Value | undefined): readonly Value[] {
  if (!Array.isArray(v)) typeError(name, "array", v ?? null);
  return v as readonly Value[];
}
export function obj(name: string, v: Value | undefined): ObjectValue {
  if (!(v instanceof ObjectValue)) typeError(name, "object", v ?? null);
  return v;
}
export function set(name: string, v: Value | undefined): SetValue {
  if (!(v instanceof SetValue)) typeError(name, "set", v ?? null);
  return v;
}
/** Elements of an array or set. */
export function items(name: string, v: Value | undefined, what = "array/set"): readonly Value[] {
  if (Array.isArray(v)) return v as readonly Value[];
  if (v instanceof SetValue) return v.values();
  throw new BuiltinError(`\`${name}\` requires ${what} argument.`);
}

export { typeName };

/** Helper to register many builtins. */
export function define(table: BuiltinTable, name: string, arity: number, fn: BuiltinFn): void {
  table.set(name, { arity, fn });
}
