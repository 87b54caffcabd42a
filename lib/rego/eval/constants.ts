/** Values of collection literals made only of constants, computed once per term. */

import type { Term } from "../ast.ts";
import { ObjectValue, SetValue, type Value } from "../value.ts";

const constCache = new WeakMap<Term, { v: Value } | null>();
const NOT_CONST = null;

/** Value of a literal made only of constants (computed once per term), else undefined. */
export function constValue(t: Term): Value | undefined {
  const c = constCache.get(t);
  if (c !== undefined) return c === NOT_CONST ? undefined : c.v;
  let v: Value | undefined;
  if (t.t === "scalar") v = t.v;
  else if (t.t === "array") {
    const items: Value[] = [];
    for (const i of t.items) {
      const x = constValue(i);
      if (x === undefined) break;
      items.push(x);
    }
    if (items.length === t.items.length) v = items;
  } else if (t.t === "set") {
    const items: Value[] = [];
    for (const i of t.items) {
      const x = constValue(i);
      if (x === undefined) break;
      items.push(x);
    }
    if (items.length === t.items.length) v = new SetValue(items);
  } else if (t.t === "object") {
    const o = new ObjectValue();
    let ok = true;
    for (const [kt, vt] of t.entries) {
      const kv = constValue(kt), vv = kv === undefined ? undefined : constValue(vt);
      if (kv === undefined || vv === undefined) {
        ok = false;
        break;
      }
      o.set(kv, vv);
    }
    if (ok) v = o;
  }
  constCache.set(t, v === undefined ? NOT_CONST : { v });
  return v;
}
