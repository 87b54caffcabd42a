/** Array, set and object builtins, and type predicates. */

import { equal, ObjectValue, SetValue, typeName, type Value } from "../value.ts";
import { arr, BuiltinError, type BuiltinTable, define, num, obj, set, show } from "./_util.ts";
import { jsonFilter, jsonRemove } from "./json_ops.ts";
import { jsonPatch } from "./json_patch.ts";

function keysOf(name: string, v: Value | undefined): Value[] {
  if (Array.isArray(v)) return [...v];
  if (v instanceof SetValue) return [...v.values()];
  if (v instanceof ObjectValue) return [...v.keys()];
  throw new BuiltinError(
    `\`${name}\` expects array, set or object argument. Got \`${show(v ?? null)}\` instead`,
  );
}

function unionObjects(a: ObjectValue, b: ObjectValue): ObjectValue {
  const out = new ObjectValue(a.entries());
  for (const [k, v] of b.entries()) {
    const x = out.get(k);
    out.set(k, x instanceof ObjectValue && v instanceof ObjectValue ? unionObjects(x, v) : v);
  }
  return out;
}

/** Registers collection builtins. */
export function collections(t: BuiltinTable): void {
  define(t, "array.concat", 2, ([a, b]) => [...arr("array.concat", a), ...arr("array.concat", b)]);
  define(t, "array.reverse", 1, ([a]) => [...arr("array.reverse", a)].reverse());
  define(t, "array.slice", 3, ([a, s, e]) => {
    const xs = arr("array.slice", a);
    const s0 = num("array.slice", s), e0 = num("array.slice", e);
    if (!Number.isInteger(s0) || !Number.isInteger(e0)) return undefined;
    let start = s0, end = e0;
    if (start < 0) start = 0;
    if (end > xs.length) end = xs.length;
    if (start >= end) return [];
    return xs.slice(start, end);
  });
  define(t, "array.flatten", 1, ([a]) => {
    const out: Value[] = [];
    const walk = (xs: readonly Value[]) => {
      for (const x of xs) Array.isArray(x) ? walk(x) : out.push(x);
    };
    walk(arr("array.flatten", a));
    return out;
  });
  define(t, "union", 1, ([s]) => {
    const out = new SetValue();
    for (const x of set("union", s).values()) for (const y of set("union", x).values()) out.add(y);
    return out;
  });
  define(t, "intersection", 1, ([s]) => {
    const sets = set("intersection", s).values().map((x) => set("intersection", x));
    if (sets.length === 0) return new SetValue();
    return new SetValue(sets[0]!.values().filter((v) => sets.every((x) => x.has(v))));
  });
  define(t, "object.get", 3, ([o, k, d]) => {
    const ob = o!;
    if (!(ob instanceof ObjectValue)) {
      throw new BuiltinError(`\`object.get\` expects object argument. Got \`${show(ob)}\` instead`);
    }
    if (!Array.isArray(k)) return ob.get(k!) ?? d!;
    let cur: Value | undefined = ob;
    for (const key of k) {
      if (cur instanceof ObjectValue) cur = cur.get(key);
      else if (Array.isArray(cur)) cur = typeof key === "number" ? cur[key] : undefined;
      else if (cur instanceof SetValue) cur = cur.has(key) ? key : undefined;
      else cur = undefined;
      if (cur === undefined) return d!;
    }
    return cur;
  });
  define(t, "object.keys", 1, ([o]) => new SetValue(obj("object.keys", o).keys()));
  define(t, "object.remove", 2, ([o, ks]) => {
    const ob = obj("object.remove", o);
    const drop = new SetValue(keysOf("object.remove", ks));
    return new ObjectValue([...ob.entries()].filter(([k]) => !drop.has(k)));
  });
  define(t, "object.filter", 2, ([o, ks]) => {
    const ob = obj("object.filter", o);
    const keep = new SetValue(keysOf("object.filter", ks));
    return new ObjectValue([...ob.entries()].filter(([k]) => keep.has(k)));
  });
  define(
    t,
    "object.union",
    2,
    ([a, b]) => unionObjects(obj("object.union", a), obj("object.union", b)),
  );
  define(t, "object.union_n", 1, ([a]) => {
    let out = new ObjectValue();
    for (const o of arr("object.union_n", a)) out = unionObjects(out, obj("object.union_n", o));
    return out;
  });
  define(t, "object.subset", 2, ([a, b]) => subset(a!, b!));
  define(t, "json.filter", 2, ([o, p]) => jsonFilter(obj("json.filter", o), p!));
  define(t, "json.remove", 2, ([o, p]) => jsonRemove(obj("json.remove", o), p!));
  define(t, "json.patch", 2, ([o, p]) => jsonPatch(o!, arr("json.patch", p)));
  const is = (n: string, ty: string) => define(t, n, 1, ([v]) => typeName(v!) === ty);
  is("is_string", "string");
  is("is_number", "number");
  is("is_boolean", "boolean");
  is("is_array", "array");
  is("is_set", "set");
  is("is_object", "object");
  is("is_null", "null");
  define(t, "type_name", 1, ([v]) => typeName(v!));
  // The relation itself is evaluated by the interpreter (it yields many values); this entry
  // gives the resolver its arity and serves `with walk as …` replacements only.
  define(t, "walk", 1, () => {
    throw new BuiltinError("`walk` cannot be called through a replacement");
  });
}

function subset(sup: Value, sub: Value): boolean {
  if (sup instanceof ObjectValue && sub instanceof ObjectValue) {
    for (const [k, v] of sub.entries()) {
      const x = sup.get(k);
      if (x === undefined) return false;
      if (x instanceof ObjectValue && v instanceof ObjectValue) {
        if (!subset(x, v)) return false;
      } else if (!equal(x, v)) return false;
    }
    return true;
  }
  if (sup instanceof SetValue && sub instanceof SetValue) {
    return sub.values().every((v) => sup.has(v));
  }
  if (Array.isArray(sup) && Array.isArray(sub)) {
    if (sub.length === 0) return true;
    for (let i = 0; i + sub.length <= sup.length; i++) {
      if (sub.every((v, j) => equal(v, sup[i + j] as Value))) return true;
    }
    return false;
  }
  if (sup instanceof SetValue && Array.isArray(sub)) return sub.every((v) => sup.has(v));
  throw new BuiltinError("`object.subset` expects matching object, set or array arguments");
}
