/** Indexing into values and reading / replacing values at a path (base data, `with`). */

import { ObjectValue, SetValue, type Value } from "../value.ts";

/** Indexes a collection; undefined if absent. */
export function index(v: Value, key: Value): Value | undefined {
  if (Array.isArray(v)) {
    return typeof key === "number" && Number.isInteger(key) && key >= 0 && key < v.length
      ? v[key] as Value
      : undefined;
  }
  if (v instanceof ObjectValue) return typeof key === "string" ? v.getStr(key) : v.get(key);
  if (v instanceof SetValue) return v.has(key) ? key : undefined;
  return undefined;
}

/** Base data at a path. */
export function baseAt(data: Value, keys: string[]): Value | undefined {
  let v: Value | undefined = data;
  for (const key of keys) {
    if (v === undefined) return undefined;
    v = index(v, key);
  }
  return v;
}

/** Returns a copy of `root` with `path` set to `value` (objects created as needed). */
export function setPath(root: Value | undefined, path: string[], value: Value): Value {
  if (path.length === 0) return value;
  const [first, ...rest] = path;
  const base = root instanceof ObjectValue ? root : new ObjectValue();
  const out = new ObjectValue(base.entries());
  out.set(first!, setPath(base.get(first!), rest, value));
  return out;
}
