/**
 * Rego values: JSON scalars, arrays, sets and objects whose keys may be any value. Sets and
 * objects are Map-backed (no prototype, so `__proto__` is ordinary data) and immutable once
 * built; iteration follows Rego's total order, like OPA and regorus.
 */

/** A plain JSON value (what goes into and comes out of the engine). */
export type JsonValue = null | boolean | number | string | JsonValue[] | {
  [key: string]: JsonValue;
};

/** Any Rego value. `undefined` (outside this type) means "undefined" in Rego. */
export type Value = null | boolean | number | string | readonly Value[] | SetValue | ObjectValue;

type MapKey = string | number | boolean | null;

const canonCache = new WeakMap<readonly Value[], string>();

/** Map key of a value: primitives are their own key, composites a canonical string. */
export function keyOf(v: Value): MapKey {
  switch (typeof v) {
    case "string":
      return v.length > 0 && v.charCodeAt(0) === 1 ? "\u0001s" + v : v;
    case "number":
      return v === 0 ? 0 : v;
    case "boolean":
      return v;
    default:
      return v === null ? null : "\u0001c" + canonical(v);
  }
}

/** A deterministic text form of a value, used as map key for composite values. */
export function canonical(v: Value): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      return Object.is(v, -0) ? "0" : String(v);
    case "boolean":
      return v ? "true" : "false";
  }
  if (Array.isArray(v)) {
    const arr = v as readonly Value[];
    let s = canonCache.get(arr);
    if (s === undefined) {
      s = "[" + arr.map(canonical).join(",") + "]";
      canonCache.set(arr, s);
    }
    return s;
  }
  return (v as SetValue | ObjectValue).canonical();
}

function isPlainKey(v: Value, mk: MapKey): boolean {
  return mk === v;
}

/** An immutable set of values. */
export class SetValue {
  readonly #m = new Map<MapKey, Value>();
  #sorted: Value[] | undefined;
  #canon: string | undefined;

  constructor(items?: Iterable<Value>) {
    if (items) { for (const v of items) this.#m.set(keyOf(v), v); }
  }
  /** Adds during construction only. Returns false if the value was present. */
  add(v: Value): boolean {
    const k = keyOf(v);
    if (this.#m.has(k)) return false;
    this.#m.set(k, v);
    this.#sorted = undefined;
    this.#canon = undefined;
    return true;
  }
  has(v: Value): boolean {
    return this.#m.has(keyOf(v));
  }
  get size(): number {
    return this.#m.size;
  }
  /** Elements in Rego order. */
  values(): readonly Value[] {
    if (!this.#sorted) this.#sorted = [...this.#m.values()].sort(compare);
    return this.#sorted;
  }
  canonical(): string {
    if (this.#canon === undefined) this.#canon = "<" + this.values().map(canonical).join(",") + ">";
    return this.#canon;
  }
}

/** An immutable object; keys may be any value. */
export class ObjectValue {
  readonly #m = new Map<MapKey, Value>();
  #keys: Map<MapKey, Value> | undefined;
  #sorted: Value[] | undefined;
  #canon: string | undefined;

  constructor(entries?: Iterable<readonly [Value, Value]>) {
    if (entries) { for (const [k, v] of entries) this.set(k, v); }
  }
  /** Sets during construction only. */
  set(k: Value, v: Value): void {
    const mk = keyOf(k);
    if (!isPlainKey(k, mk)) (this.#keys ??= new Map()).set(mk, k);
    this.#m.set(mk, v);
    this.#sorted = undefined;
    this.#canon = undefined;
  }
  get(k: Value): Value | undefined {
    return this.#m.get(keyOf(k));
  }
  /** Fast path for string keys. */
  getStr(k: string): Value | undefined {
    return this.#m.get(k.length > 0 && k.charCodeAt(0) === 1 ? "\u0001s" + k : k);
  }
  has(k: Value): boolean {
    return this.#m.has(keyOf(k));
  }
  get size(): number {
    return this.#m.size;
  }
  /** Keys in Rego order. */
  keys(): readonly Value[] {
    if (!this.#sorted) {
      const ks: Value[] = [];
      for (const mk of this.#m.keys()) ks.push(this.#keys?.get(mk) ?? mk);
      this.#sorted = ks.sort(compare);
    }
    return this.#sorted;
  }
  /** Entries in key order. */
  *entries(): Generator<[Value, Value]> {
    for (const k of this.keys()) yield [k, this.#m.get(keyOf(k))!];
  }
  canonical(): string {
    if (this.#canon === undefined) {
      const parts: string[] = [];
      for (const [k, v] of this.entries()) parts.push(canonical(k) + ":" + canonical(v));
      this.#canon = "{" + parts.join(",") + "}";
    }
    return this.#canon;
  }
}

/** Rego type name of a value. */
export function typeName(v: Value): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return "boolean";
    case "number":
      return "number";
    case "string":
      return "string";
  }
  if (Array.isArray(v)) return "array";
  return v instanceof SetValue ? "set" : "object";
}

function rank(v: Value): number {
  if (v === null) return 0;
  switch (typeof v) {
    case "boolean":
      return 1;
    case "number":
      return 2;
    case "string":
      return 3;
  }
  if (Array.isArray(v)) return 4;
  return v instanceof SetValue ? 5 : 6;
}

function compareSeq(a: readonly Value[], b: readonly Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compare(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Total order over values (null < bool < number < string < array < set < object, as regorus). */
export function compare(a: Value, b: Value): number {
  if (a === b) return 0;
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
    case 2:
    case 3:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 4:
      return compareSeq(a as readonly Value[], b as readonly Value[]);
    case 5:
      return compareSeq((a as SetValue).values(), (b as SetValue).values());
  }
  const oa = a as ObjectValue, ob = b as ObjectValue;
  const ka = oa.keys(), kb = ob.keys();
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const c = compare(ka[i]!, kb[i]!) || compare(oa.get(ka[i]!)!, ob.get(kb[i]!)!);
    if (c !== 0) return c;
  }
  return ka.length - kb.length;
}

/** Deep equality. */
export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equal(a[i], (b as readonly Value[])[i]!)) return false;
    return true;
  }
  if (a instanceof SetValue) {
    if (!(b instanceof SetValue) || a.size !== b.size) return false;
    for (const v of a.values()) if (!b.has(v)) return false;
    return true;
  }
  const oa = a as ObjectValue;
  if (!(b instanceof ObjectValue) || oa.size !== b.size) return false;
  for (const [k, v] of oa.entries()) {
    const w = b.get(k);
    if (w === undefined || !equal(v, w)) return false;
  }
  return true;
}

/** Converts parsed JSON (or any plain JS data) to a Rego value. */
export function fromJson(j: unknown): Value {
  if (j === null || typeof j === "string" || typeof j === "boolean") return j;
  if (typeof j === "number") return j;
  if (typeof j === "bigint") return Number(j);
  if (Array.isArray(j)) return j.map(fromJson);
  if (j instanceof SetValue || j instanceof ObjectValue) return j;
  if (typeof j === "object") {
    const o = new ObjectValue();
    for (const k of Object.keys(j)) {
      const v = (j as Record<string, unknown>)[k];
      if (v !== undefined) o.set(k, fromJson(v));
    }
    return o;
  }
  throw new TypeError(`Cannot convert ${typeof j} to a Rego value`);
}

/** Converts a value to JSON: sets become sorted arrays, non-string keys are JSON-encoded. A
 * `__proto__` key becomes an own property (never the prototype). */
export function toJson(v: Value): JsonValue {
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) return v.map(toJson);
  if (v instanceof SetValue) return v.values().map(toJson);
  const o = v as ObjectValue;
  const out: { [key: string]: JsonValue } = {};
  for (const k of o.keys()) {
    const val = toJson(o.get(k)!);
    const key = typeof k === "string" ? k : JSON.stringify(toJson(k));
    if (key === "__proto__") {
      Object.defineProperty(out, key, {
        value: val,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else out[key] = val;
  }
  return out;
}

/** Truthiness in Rego: everything except `false` (undefined is handled by callers). */
export function isObject(v: Value): v is ObjectValue {
  return v instanceof ObjectValue;
}
export function isSet(v: Value): v is SetValue {
  return v instanceof SetValue;
}
export function isArray(v: Value): v is readonly Value[] {
  return Array.isArray(v);
}
