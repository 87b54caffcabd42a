/** json.filter / json.remove / json.patch (RFC 6902). */

import { equal, ObjectValue, SetValue, type Value } from "../value.ts";
import { BuiltinError, show } from "./_util.ts";

type PathTree = Map<string, PathTree>;

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
  const root: PathTree = new Map();
  for (const p of paths) {
    let cur = root;
    for (const seg of p) {
      const k = typeof seg === "string" ? seg : JSON.stringify(seg);
      let n = cur.get(k);
      if (!n) cur.set(k, n = new Map());
      cur = n;
    }
    cur.set("\u0000end", new Map());
  }
  return root;
}

function keyStr(k: Value): string {
  return typeof k === "string" ? k : JSON.stringify(k);
}

function filter(v: Value, t: PathTree): Value {
  if (t.has("\u0000end")) return v;
  if (v instanceof ObjectValue) {
    const out = new ObjectValue();
    for (const [k, x] of v.entries()) {
      const sub = t.get(keyStr(k));
      if (sub) out.set(k, filter(x, sub));
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const sub = t.get(String(i));
      if (sub) out.push(filter(x, sub));
    });
    return out;
  }
  if (v instanceof SetValue) return new SetValue(v.values().filter((x) => t.has(keyStr(x))));
  return v;
}

function remove(v: Value, t: PathTree): Value | undefined {
  if (t.has("\u0000end")) return undefined;
  if (v instanceof ObjectValue) {
    const out = new ObjectValue();
    for (const [k, x] of v.entries()) {
      const sub = t.get(keyStr(k));
      const r = sub ? remove(x, sub) : x;
      if (r !== undefined) out.set(k, r);
    }
    return out;
  }
  if (Array.isArray(v)) {
    const out: Value[] = [];
    v.forEach((x, i) => {
      const sub = t.get(String(i));
      const r = sub ? remove(x, sub) : x;
      if (r !== undefined) out.push(r);
    });
    return out;
  }
  if (v instanceof SetValue) {
    return new SetValue(v.values().filter((x) => !t.get(keyStr(x))?.has("\u0000end")));
  }
  return v;
}

export function jsonFilter(o: ObjectValue, p: Value): Value {
  return filter(o, tree(parsePaths("json.filter", p)));
}
export function jsonRemove(o: ObjectValue, p: Value): Value {
  return remove(o, tree(parsePaths("json.remove", p))) ?? new ObjectValue();
}

function pointer(p: Value | undefined): Value[] | undefined {
  if (Array.isArray(p)) {
    if (p.some((x) => typeof x !== "string" && !(typeof x === "number" && Number.isInteger(x)))) {
      return undefined;
    }
    return p.map((x) => typeof x === "number" ? String(x) : x);
  }
  if (typeof p !== "string") return undefined;
  if (p === "") return [];
  if (!p.startsWith("/")) return undefined;
  return p.slice(1).split("/").map(unescape);
}

function getAt(v: Value, path: Value[]): Value | undefined {
  let cur: Value | undefined = v;
  for (const seg of path) {
    if (cur instanceof ObjectValue) cur = cur.get(seg);
    else if (Array.isArray(cur)) cur = cur[Number(seg)];
    else if (cur instanceof SetValue) cur = cur.has(seg) ? seg : undefined;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Applies `f` to the parent container of the path's last segment. */
function update(
  v: Value,
  path: Value[],
  f: (parent: Value, key: Value) => Value | undefined,
): Value | undefined {
  if (path.length === 0) return undefined;
  const [seg, ...rest] = path;
  if (rest.length === 0) return f(v, seg!);
  if (v instanceof ObjectValue) {
    const child = v.get(seg!);
    if (child === undefined) return undefined;
    const nc = update(child, rest, f);
    if (nc === undefined) return undefined;
    const out = new ObjectValue(v.entries());
    out.set(seg!, nc);
    return out;
  }
  if (Array.isArray(v)) {
    const i = arrayIndex(seg!);
    if (i === undefined || i >= v.length) return undefined;
    const nc = update(v[i] as Value, rest, f);
    if (nc === undefined) return undefined;
    const out = [...v];
    out[i] = nc;
    return out;
  }
  return undefined;
}

function add(doc: Value, path: Value[], val: Value): Value | undefined {
  if (path.length === 0) return val;
  return update(doc, path, (parent, key) => {
    if (parent instanceof ObjectValue) {
      const out = new ObjectValue(parent.entries());
      out.set(key, val);
      return out;
    }
    if (Array.isArray(parent)) {
      const i = key === "-" ? parent.length : arrayIndex(key);
      if (i === undefined || i > parent.length) return undefined;
      const out = [...parent];
      out.splice(i, 0, val);
      return out;
    }
    if (parent instanceof SetValue) return new SetValue([...parent.values(), val]);
    return undefined;
  });
}

function del(doc: Value, path: Value[]): Value | undefined {
  return update(doc, path, (parent, key) => {
    if (parent instanceof ObjectValue) {
      if (!parent.has(key)) return undefined;
      return new ObjectValue([...parent.entries()].filter(([k]) => !equal(k, key)));
    }
    if (Array.isArray(parent)) {
      const i = arrayIndex(key);
      if (i === undefined || i >= parent.length) return undefined;
      return parent.filter((_, j) => j !== i);
    }
    if (parent instanceof SetValue) {
      if (!parent.has(key)) return undefined;
      return new SetValue(parent.values().filter((x) => !equal(x, key)));
    }
    return undefined;
  });
}

/** A JSON-pointer array index: digits without leading zeros. */
function arrayIndex(seg: Value): number | undefined {
  return typeof seg === "string" && /^(0|[1-9]\d*)$/.test(seg) ? Number(seg) : undefined;
}

/** RFC 6902 patch; undefined if any operation fails. */
export function jsonPatch(doc: Value, ops: readonly Value[]): Value | undefined {
  let cur: Value | undefined = doc;
  for (const op of ops) {
    if (!(op instanceof ObjectValue) || cur === undefined) return undefined;
    const kind = op.get("op");
    const path = pointer(op.get("path"));
    if (!path) return undefined;
    if ((kind === "add" || kind === "replace" || kind === "test") && !op.has("value")) {
      return undefined;
    }
    switch (kind) {
      case "add":
        cur = add(cur, path, op.get("value") ?? null);
        break;
      case "remove":
        cur = del(cur, path);
        break;
      case "replace": {
        if (getAt(cur, path) === undefined) return undefined;
        if (path.length === 0) cur = op.get("value") ?? null;
        else {
          const d = del(cur, path);
          cur = d === undefined ? undefined : add(d, path, op.get("value") ?? null);
        }
        break;
      }
      case "move":
      case "copy": {
        const from = pointer(op.get("from"));
        if (!from) return undefined;
        const v = getAt(cur, from);
        if (v === undefined) return undefined;
        if (kind === "move") cur = del(cur, from);
        cur = cur === undefined ? undefined : add(cur, path, v);
        break;
      }
      case "test": {
        const v = getAt(cur, path);
        if (v === undefined || !equal(v, op.get("value") ?? null)) return undefined;
        break;
      }
      default:
        return undefined;
    }
  }
  return cur;
}
