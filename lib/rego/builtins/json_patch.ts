/**
 * `json.patch` (RFC 6902) with OPA / regorus semantics: operations edit one document in turn,
 * `replace` is `remove` then `add`, sets are addressed by member (a nested edit re-keys the
 * member, and a member can only be replaced by itself), the root can be removed (the result is
 * then undefined unless a later `add ""` restores it). Any failing operation makes the whole
 * patch undefined. Values are immutable, so every edit copies the containers on its path.
 */

import { equal, ObjectValue, SetValue, type Value } from "../value.ts";

/** Internal failure of one operation (the builtin returns undefined). */
class PatchFailure extends Error {}

function fail(): never {
  throw new PatchFailure();
}

/** `v` unless it is undefined (null is a value). */
function present(v: Value | undefined): Value {
  return v === undefined ? fail() : v;
}

/** A path: `""` (root), `/a/0` JSON pointer (leading slashes trimmed, `~1` `~0` unescaped),
 * or an array of segments of any type. */
function parsePath(p: Value | undefined): Value[] {
  if (typeof p === "string") {
    if (p === "") return [];
    return p.replace(/^\/+/, "").split("/").map((s) =>
      s.replaceAll("~1", "/").replaceAll("~0", "~")
    );
  }
  if (Array.isArray(p)) return [...p];
  return fail();
}

/** Index of `seg` in an array of `length`; `-` and `length` only where appending is allowed. */
function arrayIndex(length: number, seg: Value, append: boolean): number {
  let i: number;
  if (typeof seg === "number") {
    if (!Number.isInteger(seg)) fail();
    i = seg;
  } else if (typeof seg === "string") {
    if (seg === "-") {
      if (!append) fail();
      return length;
    }
    if (!/^(0|[1-9]\d*)$/.test(seg)) fail();
    i = Number(seg);
  } else return fail();
  if (i < 0 || (append ? i > length : i >= length)) fail();
  return i;
}

function getAt(v: Value, path: Value[], i = 0): Value {
  if (i === path.length) return v;
  const seg = path[i]!;
  if (v instanceof ObjectValue) return getAt(present(v.get(seg)), path, i + 1);
  if (Array.isArray(v)) return getAt(v[arrayIndex(v.length, seg, false)] as Value, path, i + 1);
  if (v instanceof SetValue) return getAt(v.has(seg) ? seg : fail(), path, i + 1);
  return fail();
}

function withEntry(o: ObjectValue, k: Value, v: Value | undefined): ObjectValue {
  const out = new ObjectValue();
  for (const [ek, ev] of o.entries()) if (!equal(ek, k)) out.set(ek, ev);
  if (v !== undefined) out.set(k, v);
  return out;
}

function withMember(s: SetValue, drop: Value | undefined, add: Value | undefined): SetValue {
  const out = new SetValue();
  for (const m of s.values()) if (drop === undefined || !equal(m, drop)) out.add(m);
  if (add !== undefined) out.add(add);
  return out;
}

/** Inserts `x` at non-empty `path` (object set, array insert, set add of an equal member). */
function insertAt(v: Value, path: Value[], x: Value, i = 0): Value {
  const seg = path[i]!;
  const last = i === path.length - 1;
  if (v instanceof ObjectValue) {
    if (last) return withEntry(v, seg, x);
    return withEntry(v, seg, insertAt(present(v.get(seg)), path, x, i + 1));
  }
  if (Array.isArray(v)) {
    const idx = arrayIndex(v.length, seg, last);
    const out = [...v];
    if (last) out.splice(idx, 0, x);
    else out[idx] = insertAt(v[idx] as Value, path, x, i + 1);
    return out;
  }
  if (v instanceof SetValue) {
    if (last) return equal(seg, x) ? withMember(v, undefined, x) : fail();
    if (!v.has(seg)) fail();
    return withMember(v, seg, insertAt(seg, path, x, i + 1));
  }
  return fail();
}

/** Removes the value at non-empty `path`; returns the new document and the removed value. */
function removeAt(v: Value, path: Value[], i = 0): [Value, Value] {
  const seg = path[i]!;
  const last = i === path.length - 1;
  if (v instanceof ObjectValue) {
    const child = present(v.get(seg));
    if (last) return [withEntry(v, seg, undefined), child];
    const [nc, removed] = removeAt(child, path, i + 1);
    return [withEntry(v, seg, nc), removed];
  }
  if (Array.isArray(v)) {
    const idx = arrayIndex(v.length, seg, false);
    const out = [...v];
    if (last) return [(out.splice(idx, 1), out), v[idx] as Value];
    const [nc, removed] = removeAt(v[idx] as Value, path, i + 1);
    out[idx] = nc;
    return [out, removed];
  }
  if (v instanceof SetValue) {
    if (!v.has(seg)) fail();
    if (last) return [withMember(v, seg, undefined), seg];
    const [nm, removed] = removeAt(seg, path, i + 1);
    return [withMember(v, seg, nm), removed];
  }
  return fail();
}

/** The document being edited; `undefined` after the root was removed. */
type Doc = Value | undefined;

function add(doc: Doc, path: Value[], x: Value): Doc {
  if (path.length === 0) return x;
  return insertAt(present(doc), path, x);
}

function remove(doc: Doc, path: Value[]): [Doc, Value] {
  if (doc === undefined) fail();
  if (path.length === 0) return [undefined, doc];
  return removeAt(doc, path);
}

function field(op: ObjectValue, name: string): Value {
  return present(op.get(name));
}

function apply(doc: Doc, op: Value): Doc {
  if (!(op instanceof ObjectValue)) fail();
  const path = () => parsePath(field(op, "path"));
  switch (field(op, "op")) {
    case "add":
      return add(doc, path(), field(op, "value"));
    case "remove":
      return remove(doc, path())[0];
    case "replace": {
      const p = path();
      return add(remove(doc, p)[0], p, field(op, "value"));
    }
    case "move": {
      const from = parsePath(field(op, "from"));
      const [d, moved] = remove(doc, from);
      return add(d, path(), moved);
    }
    case "copy": {
      const from = parsePath(field(op, "from"));
      return add(doc, path(), getAt(present(doc), from));
    }
    case "test":
      return equal(getAt(present(doc), path()), field(op, "value")) ? doc : fail();
    default:
      return fail();
  }
}

/** RFC 6902 patch; undefined if any operation fails or the root ends up removed. */
export function jsonPatch(doc: Value, ops: readonly Value[]): Value | undefined {
  let cur: Doc = doc;
  try {
    for (const op of ops) cur = apply(cur, op);
  } catch (e) {
    if (e instanceof PatchFailure) return undefined;
    throw e;
  }
  return cur;
}
