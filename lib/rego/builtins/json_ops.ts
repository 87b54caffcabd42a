/** json.filter and json.remove (json.patch is in json_patch.ts). */

import { canonical, ObjectValue, SetValue, type Value } from "../value.ts";
import { BuiltinError, show } from "./_util.ts";

/** Paths as a tree; keys are canonical forms of the segments (strings stay distinct from
 * numbers, so `["a", 1]` selects the set member 1 but no array element). */
interface PathTree {
  end: boolean;
  kids: Map<string, PathTree>;
}

function parsePaths(name: string, p: Value): Value[][] {
  const list = Array.isArray(p) ? p : p instanceof SetValue ? p.values() : undefined;
  if (!list) {
    throw new BuiltinError(`\`${name}\` expects array or set argument. Got \`${show(p)}\` instead`);
  }
  return list.map((x) => {
    if (typeof x === "string") {
      return x.replace(/^\//, "").split("/").filter((s) => s !== "").map(unescape);
    }
    if (Array.isArray(x)) return [...x];
    throw new BuiltinError(`\`${name}\` expects paths as strings or arrays`);
  });
}

function unescape(s: string): string {
  return s.replaceAll("~1", "/").replaceAll("~0", "~");
}

function tree(paths: Value[][]): PathTree {
  const root: PathTree = { end: false, kids: new Map() };
  for (const p of paths) {
    let cur = root;
    for (const seg of p) {
      const k = canonical(seg);
      let n = cur.kids.get(k);
      if (!n) cur.kids.set(k, n = { end: false, kids: new Map() });
      cur = n;
    }
    cur.end = true;
  }
  return root;
}

/** Subtree for an array index: paths name indexes as strings (`"a/0"`, `["a", "0"]`), or, for
 * json.remove, as numbers too. */
function indexTree(t: PathTree, i: number, numbers: boolean): PathTree | undefined {
  return t.kids.get(canonical(String(i))) ?? (numbers ? t.kids.get(canonical(i)) : undefined);
}

function filter(v: Value, t: PathTree): Value {
  if (t.end) return v;
  if (v instanceof ObjectValue) {
    const out = new ObjectValue();
    for (const [k, x] of v.entries()) {
      const sub = t.kids.get(canonical(k));
      if (sub) out.set(k, filter(x, sub));
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const sub = indexTree(t, i, false);
      if (sub) out.push(filter(x, sub));
    });
    return out;
  }
  if (v instanceof SetValue) {
    const out = new SetValue();
    for (const x of v.values()) {
      const sub = t.kids.get(canonical(x));
      if (sub) out.add(filter(x, sub));
    }
    return out;
  }
  return v;
}

function remove(v: Value, t: PathTree): Value | undefined {
  if (t.end) return undefined;
  if (v instanceof ObjectValue) {
    const out = new ObjectValue();
    for (const [k, x] of v.entries()) {
      const sub = t.kids.get(canonical(k));
      const r = sub ? remove(x, sub) : x;
      if (r !== undefined) out.set(k, r);
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const sub = indexTree(t, i, true);
      const r = sub ? remove(x, sub) : x;
      if (r !== undefined) out.push(r);
    });
    return out;
  }
  if (v instanceof SetValue) {
    return new SetValue(v.values().filter((x) => !t.kids.get(canonical(x))?.end));
  }
  return v;
}

export function jsonFilter(o: ObjectValue, p: Value): Value {
  return filter(o, tree(parsePaths("json.filter", p)));
}
export function jsonRemove(o: ObjectValue, p: Value): Value {
  return remove(o, tree(parsePaths("json.remove", p))) ?? new ObjectValue();
}
