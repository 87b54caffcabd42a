/** Aggregates: count, sum, product, max, min, sort. */

import { compare, ObjectValue, SetValue, type Value } from "../value.ts";
import { BuiltinError, type BuiltinTable, define, items } from "./_util.ts";

function numbersOf(name: string, v: Value | undefined): number[] {
  return items(name, v).map((x) => {
    if (typeof x !== "number") throw new BuiltinError(`\`${name}\` requires array/set of numbers.`);
    return x;
  });
}

/** Registers aggregate builtins. */
export function aggregates(t: BuiltinTable): void {
  define(t, "count", 1, ([v]) => {
    if (Array.isArray(v)) return v.length;
    if (v instanceof SetValue || v instanceof ObjectValue) return v.size;
    if (typeof v === "string") return [...v].length;
    throw new BuiltinError("`count` requires array/object/set/string argument.");
  });
  define(t, "sum", 1, ([v]) => numbersOf("sum", v).reduce((a, b) => a + b, 0));
  define(t, "product", 1, ([v]) => numbersOf("product", v).reduce((a, b) => a * b, 1));
  define(t, "max", 1, ([v]) => {
    const xs = items("max", v);
    if (xs.length === 0) return undefined;
    return xs.reduce((a, b) => compare(a, b) >= 0 ? a : b);
  });
  define(t, "min", 1, ([v]) => {
    const xs = items("min", v);
    if (xs.length === 0) return undefined;
    return xs.reduce((a, b) => compare(a, b) <= 0 ? a : b);
  });
  define(t, "sort", 1, ([v]) => [...items("sort", v)].sort(compare));
}
