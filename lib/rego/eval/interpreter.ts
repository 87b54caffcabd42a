/**
 * Tree-walking evaluator with backtracking in continuation-passing style: every evaluation
 * step takes a continuation `k` and returns true to stop the whole search early (used by
 * `not`, `every`, ground-valued rules). Variables live in one mutable Map per rule / function
 * activation; a binding is removed when its continuation returns.
 *
 * This file is long because terms, unification, literals and `with` are mutually recursive
 * and share the same hot state; rule-tree evaluation lives in `rules.ts`.
 */

import type { CallTarget, Literal, Loc, Query, Term, With } from "../ast.ts";
import { isStackOverflow, RegoError } from "../errors.ts";
import type { BuiltinContext, BuiltinTable } from "../builtins/_util.ts";
import { BuiltinError, show } from "../builtins/_util.ts";
import { arith, inCollection, setOp } from "./ops.ts";
import type { Compiled, RuleNode } from "../compiler.ts";
import { compare, equal, fromJson, ObjectValue, SetValue, type Value } from "../value.ts";
import { direct, ready } from "./direct.ts";
import { formatPrint } from "./print.ts";

/** Continuation: return true to stop. */
export type K = () => boolean;
/** Value continuation. */
export type VK = (v: Value) => boolean;

/** Resource limits, resolved. */
export interface Limits {
  maxSteps: number;
  deadline: number;
  maxDepth: number;
}

/** Replacement for a function under `with`. */
export type FnOverride = { fn: CallTarget } | { value: Value };

/** State that `with` replaces. */
export interface WithState {
  input: Value | undefined;
  dataOverrides: { path: string[]; value: Value }[];
  fnOverrides: Map<string, FnOverride>;
  cache: Map<unknown, Value | undefined | typeof PENDING>;
}

/** Cache marker for a rule being evaluated (recursion). */
export const PENDING: unique symbol = Symbol("pending");

const stepCheckMask = 1023;

/** Per-evaluation interpreter. */
export abstract class Interpreter implements BuiltinContext {
  env = new Map<string, Value | undefined>();
  state: WithState;
  readonly prints: string[] = [];
  steps = 0;
  depth = 0;
  #now: number | undefined;
  /** Cleared environments for reuse by later activations (fewer allocations). */
  #envPool: Map<string, Value | undefined>[] = [];
  /** Value of a rule-tree node (rules.ts). */
  abstract nodeValue(node: RuleNode): Value | undefined;
  /** Calls a user function (rules.ts). */
  abstract callUser(path: string, args: Value[], loc: Loc): Value | undefined;

  constructor(
    readonly compiled: Compiled,
    readonly builtins: BuiltinTable,
    readonly data: Value,
    input: Value | undefined,
    readonly limits: Limits,
    readonly strict: boolean,
  ) {
    this.state = { input, dataOverrides: [], fnOverrides: new Map(), cache: new Map() };
  }

  nowNs(): number {
    if (this.#now === undefined) this.#now = Date.now() * 1e6;
    return this.#now;
  }

  step(): void {
    const s = ++this.steps;
    if (s > this.limits.maxSteps) {
      throw new RegoError("limit", `Evaluation exceeded ${this.limits.maxSteps} steps`);
    }
    if ((s & stepCheckMask) === 0 && performance.now() > this.limits.deadline) {
      throw new RegoError("limit", "Evaluation exceeded its time limit");
    }
  }

  fail(loc: Loc, msg: string, code: "eval" | "conflict" = "eval"): never {
    throw new RegoError(code, `${loc.file}:${loc.line}:${loc.col}: ${msg}`);
  }

  /** Runs `f` with a fresh variable environment (rule / function activation). */
  withEnv<T>(f: () => T): T {
    const saved = this.env;
    const env = this.#envPool.pop() ?? new Map<string, Value | undefined>();
    this.env = env;
    try {
      if (++this.depth > this.limits.maxDepth) {
        throw new RegoError("limit", `Evaluation exceeded maximum depth ${this.limits.maxDepth}`);
      }
      return f();
    } finally {
      this.env = saved;
      this.depth--;
      env.clear();
      this.#envPool.push(env);
    }
  }

  bind(name: string, v: Value, k: K): boolean {
    this.env.set(name, v);
    try {
      return k();
    } finally {
      this.env.set(name, undefined); // cheaper than delete; undefined means unbound
    }
  }

  // ---------------------------------------------------------------- queries

  evalQuery(q: Query, i: number, k: K): boolean {
    // Literals that are single-valued checks or assignments run directly (no continuation).
    for (; i < q.length; i++) {
      const l = q[i]!;
      if (l.k !== "expr" || l.withs.length > 0) break;
      const e = l.e;
      if (e.t === "binop" && (e.op === ":=" || e.op === "=")) {
        const lhs = e.l;
        if (
          l.neg || lhs.t !== "var" || lhs.global || this.env.get(lhs.name) !== undefined ||
          !ready(this, e.r)
        ) break;
        this.step();
        const v = direct(this, e.r);
        if (v === undefined) return false;
        return this.bind(lhs.name, v, () => this.evalQuery(q, i + 1, k));
      }
      if ((e.t === "call" && e.outputArg) || !ready(this, e)) break;
      this.step();
      const v = direct(this, e);
      if ((v !== undefined && v !== false) === l.neg) return false;
    }
    if (i === q.length) return k();
    return this.evalLiteral(q[i]!, () => this.evalQuery(q, i + 1, k));
  }

  evalLiteral(l: Literal, k: K): boolean {
    this.step();
    if (l.k !== "some" && l.withs.length > 0) return this.withLiteral(l, k);
    return this.literalCore(l, k);
  }

  literalCore(l: Literal, k: K): boolean {
    switch (l.k) {
      case "some":
        return k();
      case "expr":
        if (l.neg) return this.evalExpr(l.e, () => true) ? false : k();
        return this.evalExpr(l.e, k);
      case "somein":
        return this.evalTerm(l.coll, (c) => {
          if (typeof c !== "object" || c === null) {
            if (this.strict) this.fail(l.loc, "`some .. in collection` expects array/set/object.");
            return false;
          }
          this.checkSomeArity(l.value, c, l.loc);
          return this.iterate(
            c,
            (key, val) =>
              this.unifyValue(
                l.value,
                val,
                false,
                () => l.key ? this.unifyValue(l.key, key, false, k) : k(),
              ),
          );
        });
      case "every":
        return this.evalTerm(l.coll, (c) => {
          if (typeof c !== "object" || c === null) return false;
          let ok = true;
          this.iterate(c, (key, val) => {
            const found = this.unifyValue(
              l.value,
              val,
              true,
              () =>
                l.key
                  ? this.unifyValue(l.key, key, true, () => this.evalQuery(l.body, 0, () => true))
                  : this.evalQuery(l.body, 0, () => true),
            );
            if (!found) ok = false;
            return !found;
          });
          return ok ? k() : false;
        });
    }
  }

  /** `some [a, b] in xs` where no element has the pattern's length is an error (regorus). */
  checkSomeArity(p: Term, c: Value, loc: Loc): void {
    if (p.t !== "array") return;
    const vals = Array.isArray(c) ? c : c instanceof SetValue ? c.values() : undefined;
    if (!vals || vals.length === 0) return;
    if (vals.every((v) => Array.isArray(v) && v.length !== p.items.length)) {
      this.fail(loc, "mismatch in number of array elements");
    }
  }

  evalExpr(e: Term, k: K): boolean {
    if (e.t === "binop" && (e.op === "=" || e.op === ":=")) {
      return this.unify(e.l, e.r, e.op === ":=", k);
    }
    if (e.t === "call" && e.outputArg) {
      const last = e.args[e.args.length - 1]!;
      let call = plainCalls.get(e);
      if (!call) plainCalls.set(e, call = { ...e, args: e.args.slice(0, -1), outputArg: false });
      return this.evalTerm(call, (v) => this.unifyValue(last, v, false, k));
    }
    return this.evalTerm(e, (v) => v === false ? false : k());
  }

  // ---------------------------------------------------------------- with

  withLiteral(l: Literal & { withs: With[] }, k: K): boolean {
    const outer = this.state;
    const inner: WithState = {
      input: outer.input,
      dataOverrides: [...outer.dataOverrides],
      fnOverrides: new Map(outer.fnOverrides),
      cache: new Map(),
    };
    for (const w of l.withs) this.applyWith(w, inner);
    this.state = inner;
    try {
      return this.literalCore(l, () => {
        this.state = outer;
        try {
          return k();
        } finally {
          this.state = inner;
        }
      });
    } finally {
      this.state = outer;
    }
  }

  applyWith(w: With, st: WithState): void {
    const r = w.resolved!;
    let value: Value | undefined;
    if (!w.valueFn) {
      this.evalTerm(w.value, (v) => {
        value = v;
        return true;
      });
      if (value === undefined) this.fail(w.value.loc, "`with` value is undefined");
    }
    const repl: FnOverride = w.valueFn ? { fn: w.valueFn } : { value: value! };
    switch (r.kind) {
      case "fn":
        st.fnOverrides.set(r.name, repl);
        return;
      case "input":
        if (value === undefined) this.fail(w.value.loc, "invalid `with` value for input");
        st.input = r.path.length === 0 ? value : setPath(st.input, r.path, value);
        return;
      case "data": {
        const fnPath = ["data", ...r.path].join(".");
        if (w.valueFn || this.isFunctionPath(r.path)) {
          st.fnOverrides.set(fnPath, repl);
          return;
        }
        st.dataOverrides.push({ path: r.path, value: value! });
        return;
      }
    }
  }

  isFunctionPath(path: string[]): boolean {
    let n: RuleNode | undefined = this.compiled.root;
    for (const p of path) n = n?.children.get(p);
    return n !== undefined && n.functions.length > 0;
  }

  // ---------------------------------------------------------------- terms

  evalTerm(t: Term, k: VK): boolean {
    switch (t.t) {
      case "scalar":
        return k(t.v);
      case "var": {
        if (t.global) {
          if (t.name === "input") {
            const inp = this.state.input;
            return inp === undefined ? false : k(inp);
          }
          const d = this.dataPath([], 0, t.loc);
          return d === undefined ? false : k(d);
        }
        const v = this.env.get(t.name);
        if (v === undefined) this.fail(t.loc, `var \`${displayName(t.name)}\` is unsafe`);
        return k(v);
      }
      case "ref":
      case "call":
      case "binop":
        if (ready(this, t)) {
          const v = direct(this, t);
          return v === undefined ? false : k(v);
        }
        if (t.t === "ref") return this.evalRef(t, k);
        if (t.t === "call") return this.evalCall(t, k);
        return this.evalBinop(t, k);
      case "array": {
        const c = constValue(t);
        if (c !== undefined) return k(c);
        return this.evalList(t.items, 0, [], (vs) => k(vs));
      }
      case "set": {
        const c = constValue(t);
        if (c !== undefined) return k(c);
        return this.evalList(t.items, 0, [], (vs) => k(new SetValue(vs)));
      }
      case "object": {
        const c = constValue(t);
        if (c !== undefined) return k(c);
        return this.evalEntries(t.entries, 0, [], k);
      }
      case "acompr": {
        const out: Value[] = [];
        this.evalQuery(t.body, 0, () =>
          this.evalTerm(t.head, (v) => {
            out.push(v);
            return false;
          }));
        return k(out);
      }
      case "scompr": {
        const out = new SetValue();
        this.evalQuery(t.body, 0, () =>
          this.evalTerm(t.head, (v) => {
            out.add(v);
            return false;
          }));
        return k(out);
      }
      case "ocompr":
        return k(this.objectCompr(t));
      case "in":
        return this.evalTerm(t.coll, (c) =>
          this.evalTerm(t.value, (v) => {
            if (!t.key) return k(inCollection(v, c));
            return this.evalTerm(t.key, (kk) => {
              let found = false;
              if (Array.isArray(c)) {
                found = typeof kk === "number" && equal(c[kk] as Value ?? null, v) &&
                  c[kk] !== undefined;
              } else if (c instanceof ObjectValue) {
                const x = c.get(kk);
                found = x !== undefined && equal(x, v);
              } else if (c instanceof SetValue) found = equal(kk, v) && c.has(v);
              return k(found);
            });
          }));
    }
  }

  objectCompr(t: Term & { t: "ocompr" }): ObjectValue {
    const out = new ObjectValue();
    this.evalQuery(t.body, 0, () =>
      this.evalTerm(t.key, (kv) =>
        this.evalTerm(t.value, (vv) => {
          const prev = out.get(kv);
          if (prev !== undefined && !equal(prev, vv)) {
            this.fail(
              t.loc,
              `value for key \`${show(kv)}\` generated multiple times: \`${show(prev)}\` and \`${
                show(vv)
              }\``,
            );
          }
          out.set(kv, vv);
          return false;
        })));
    return out;
  }

  evalList(items: Term[], i: number, acc: Value[], k: (vs: Value[]) => boolean): boolean {
    if (i === items.length) return k(acc.slice());
    return this.evalTerm(items[i]!, (v) => {
      acc.push(v);
      try {
        return this.evalList(items, i + 1, acc, k);
      } finally {
        acc.pop();
      }
    });
  }

  evalEntries(es: [Term, Term][], i: number, acc: [Value, Value][], k: VK): boolean {
    if (i === es.length) return k(new ObjectValue(acc));
    const [kt, vt] = es[i]!;
    return this.evalTerm(kt, (kv) =>
      this.evalTerm(vt, (vv) => {
        acc.push([kv, vv]);
        try {
          return this.evalEntries(es, i + 1, acc, k);
        } finally {
          acc.pop();
        }
      }));
  }

  // ---------------------------------------------------------------- refs

  evalRef(t: Term & { t: "ref" }, k: VK): boolean {
    const h = t.head;
    if (h.t === "var" && h.global && h.name === "data") return this.evalDataRef(t, k);
    return this.evalTerm(h, (hv) => this.walkPath(hv, t.path, 0, k));
  }

  walkPath(v: Value, path: Term[], i: number, k: VK): boolean {
    if (i === path.length) return k(v);
    const seg = path[i]!;
    if (seg.t === "var" && !seg.global && this.env.get(seg.name) === undefined) {
      return this.iterate(
        v,
        (key, val) => this.bind(seg.name, key, () => this.walkPath(val, path, i + 1, k)),
      );
    }
    if (seg.t === "scalar") {
      const nv = index(v, seg.v);
      return nv === undefined ? false : this.walkPath(nv, path, i + 1, k);
    }
    if ((seg.t === "array" || seg.t === "object") && hasUnbound(seg, this.env)) {
      return this.iterate(
        v,
        (key, val) => this.unifyValue(seg, key, false, () => this.walkPath(val, path, i + 1, k)),
      );
    }
    return this.evalTerm(seg, (key) => {
      const nv = index(v, key);
      return nv === undefined ? false : this.walkPath(nv, path, i + 1, k);
    });
  }

  /** `data.…` reference: walks the rule tree while segments are known keys, so that only
   * the rules actually referenced are evaluated. */
  evalDataRef(t: Term & { t: "ref" }, k: VK): boolean {
    return this.descend(this.compiled.root, [], t.path, 0, t.loc, k);
  }

  descend(node: RuleNode, keys: string[], path: Term[], i: number, loc: Loc, k: VK): boolean {
    const ownRules = node.complete.length > 0 || node.partial.length > 0 ||
      node.functions.length > 0 || node.defaults.length > 0;
    if (i === path.length || ownRules) {
      const v = this.dataPath(keys, 0, loc, node);
      return v === undefined ? false : this.walkPath(v, path, i, k);
    }
    const seg = path[i]!;
    if (seg.t === "var" && !seg.global && this.env.get(seg.name) === undefined) {
      const v = this.dataPath(keys, 0, loc, node);
      return v === undefined ? false : this.walkPath(v, path, i, k);
    }
    if (seg.t === "scalar") return this.descendKey(node, keys, seg.v, path, i, loc, k);
    return this.evalTerm(seg, (key) => this.descendKey(node, keys, key, path, i, loc, k));
  }

  /** `descend` one segment with key `key`; `keys` is extended in place for the call. */
  descendKey(
    node: RuleNode,
    keys: string[],
    key: Value,
    path: Term[],
    i: number,
    loc: Loc,
    k: VK,
  ): boolean {
    const skey = typeof key === "number" ? String(key) : key;
    if (typeof skey !== "string") return false;
    const child = node.children.get(skey);
    keys.push(skey);
    try {
      if (child) return this.descend(child, keys, path, i + 1, loc, k);
      const v = this.dataPath(keys, 0, loc, undefined, true);
      return v === undefined ? false : this.walkPath(v, path, i + 1, k);
    } finally {
      keys.pop();
    }
  }

  /** Value of `data` at `keys` (rules, base data, and `with` overrides). */
  dataPath(
    keys: string[],
    _from: number,
    _loc: Loc,
    node?: RuleNode,
    baseOnly = false,
  ): Value | undefined {
    const ov = this.state.dataOverrides;
    for (let j = ov.length - 1; j >= 0; j--) {
      const o = ov[j]!;
      if (o.path.length <= keys.length && o.path.every((p, x) => p === keys[x])) {
        let v: Value | undefined = o.value;
        for (const key of keys.slice(o.path.length)) {
          v = v === undefined ? undefined : index(v, key);
        }
        return v;
      }
    }
    let n = node;
    if (!n && !baseOnly) {
      n = this.compiled.root;
      for (const key of keys) n = n?.children.get(key);
    }
    let v: Value | undefined;
    if (n && (n.complete.length > 0 || n.functions.length > 0) && keys.length > 0) {
      // Base data wins over a rule at the same path (regorus behaviour).
      v = baseAt(this.data, keys);
    }
    if (v === undefined) v = n ? this.nodeValue(n) : baseAt(this.data, keys);
    if (v === undefined) return undefined;
    for (const o of ov) {
      if (o.path.length > keys.length && keys.every((p, x) => p === o.path[x])) {
        v = setPath(v, o.path.slice(keys.length), o.value);
      }
    }
    return v;
  }

  iterate(c: Value, f: (key: Value, val: Value) => boolean): boolean {
    if (Array.isArray(c)) {
      for (let i = 0; i < c.length; i++) {
        this.step();
        if (f(i, c[i] as Value)) return true;
      }
      return false;
    }
    if (c instanceof ObjectValue) {
      for (const key of c.keys()) {
        this.step();
        if (f(key, c.get(key)!)) return true;
      }
      return false;
    }
    if (c instanceof SetValue) {
      for (const v of c.values()) {
        this.step();
        if (f(v, v)) return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------- unification

  unify(a: Term, b: Term, decl: boolean, k: K): boolean {
    if (a.t === "var" && !a.global) {
      const av = this.env.get(a.name);
      if (av === undefined) {
        if (b.t === "var" && !b.global && this.env.get(b.name) === undefined) {
          this.fail(a.loc, `var \`${displayName(a.name)}\` is unsafe`);
        }
        return this.evalTerm(b, (v) => this.bind(a.name, v, k));
      }
      return this.unifyValue(b, av, decl, k);
    }
    if (b.t === "var" && !b.global) {
      const bv = this.env.get(b.name);
      if (bv === undefined) return this.evalTerm(a, (v) => this.bind(b.name, v, k));
      return this.unifyValue(a, bv, decl, k);
    }
    if (a.t === "array" && b.t === "array") {
      if (a.items.length !== b.items.length) {
        if (decl) this.fail(a.loc, "mismatch in number of array elements");
        return false;
      }
      return this.unifyPairs(a.items, b.items, 0, decl, k);
    }
    if (isPattern(a, this.env)) return this.evalTerm(b, (v) => this.unifyValue(a, v, decl, k));
    if (isPattern(b, this.env)) return this.evalTerm(a, (v) => this.unifyValue(b, v, decl, k));
    return this.evalTerm(a, (va) => this.evalTerm(b, (vb) => equal(va, vb) ? k() : false));
  }

  unifyPairs(as: Term[], bs: Term[], i: number, decl: boolean, k: K): boolean {
    if (i === as.length) return k();
    return this.unify(as[i]!, bs[i]!, decl, () => this.unifyPairs(as, bs, i + 1, decl, k));
  }

  /** Matches pattern term `p` against value `v`, binding unbound variables. */
  unifyValue(p: Term, v: Value, decl: boolean, k: K): boolean {
    switch (p.t) {
      case "var": {
        if (p.global) break;
        const cur = this.env.get(p.name);
        if (cur === undefined) return this.bind(p.name, v, k);
        return equal(cur, v) ? k() : false;
      }
      case "array": {
        if (!Array.isArray(v)) {
          if (decl) this.fail(p.loc, `Cannot bind pattern of type \`array\``);
          return false;
        }
        if (v.length !== p.items.length) {
          if (decl) this.fail(p.loc, "mismatch in number of array elements");
          return false;
        }
        return this.unifyItems(p.items, v, 0, decl, k);
      }
      case "object": {
        if (!(v instanceof ObjectValue)) return false;
        if (v.size !== p.entries.length) {
          if (decl) this.objectMismatch(p, v);
          return false;
        }
        return this.unifyEntries(p, v, 0, decl, k);
      }
    }
    return this.evalTerm(p, (pv) => equal(pv, v) ? k() : false);
  }

  objectMismatch(p: Term & { t: "object" }, v: ObjectValue): never {
    const keys: Value[] = [];
    for (const [kt] of p.entries) {
      this.evalTerm(kt, (kv) => {
        keys.push(kv);
        return true;
      });
    }
    keys.sort(compare);
    this.fail(
      p.loc,
      `object literal keys mismatch. Expected keys ${show(v.keys() as Value[])} got ${show(keys)}.`,
    );
  }

  unifyItems(ps: Term[], vs: readonly Value[], i: number, decl: boolean, k: K): boolean {
    if (i === ps.length) return k();
    return this.unifyValue(ps[i]!, vs[i]!, decl, () => this.unifyItems(ps, vs, i + 1, decl, k));
  }

  unifyEntries(p: Term & { t: "object" }, v: ObjectValue, i: number, decl: boolean, k: K): boolean {
    if (i === p.entries.length) return k();
    const [kt, vt] = p.entries[i]!;
    return this.evalTerm(kt, (kv) => {
      const x = v.get(kv);
      if (x === undefined) {
        if (decl) this.objectMismatch(p, v);
        return false;
      }
      return this.unifyValue(vt, x, decl, () => this.unifyEntries(p, v, i + 1, decl, k));
    });
  }

  // ---------------------------------------------------------------- operators and calls

  evalBinop(t: Term & { t: "binop" }, k: VK): boolean {
    if (t.op === "=" || t.op === ":=") return this.unify(t.l, t.r, t.op === ":=", () => k(true));
    return this.evalTerm(t.l, (l) =>
      this.evalTerm(t.r, (r) => {
        const out = binopValue(this, t, l, r);
        return out === undefined ? false : k(out);
      }));
  }

  /** Runs a builtin-like computation, mapping BuiltinError per strictness. */
  guard(loc: Loc, f: () => Value | undefined): Value | undefined {
    try {
      return f();
    } catch (e) {
      // A RangeError other than a stack overflow (String.fromCodePoint, toFixed, BigInt…) is
      // the builtin rejecting its arguments.
      if (e instanceof BuiltinError || (e instanceof RangeError && !isStackOverflow(e))) {
        if (this.strict) this.fail(loc, e.message);
        return undefined;
      }
      throw e;
    }
  }

  evalCall(t: Term & { t: "call" }, k: VK): boolean {
    const target = t.target!;
    if (target.kind === "builtin" && target.name === "print") return this.evalPrint(t, k);
    if (
      target.kind === "builtin" && target.name === "walk" && !this.state.fnOverrides.has("walk")
    ) {
      return this.evalTerm(t.args[0]!, (root) => this.walk(root, [], k));
    }
    return this.evalList(t.args, 0, [], (args) => {
      this.step();
      const v = this.invoke(target, args, t.loc);
      return v === undefined ? false : k(v);
    });
  }

  invoke(target: CallTarget, args: Value[], loc: Loc): Value | undefined {
    const key = target.kind === "builtin" ? target.name : target.kind === "user" ? target.path : "";
    const ov = this.state.fnOverrides.get(key);
    if (ov) {
      if ("value" in ov) return ov.value;
      if (ov.fn !== target) return this.invoke(ov.fn, args, loc);
    }
    if (target.kind === "user") return this.callUser(target.path, args, loc);
    if (target.kind === "builtin") {
      const b = this.builtins.get(target.name);
      if (!b) this.fail(loc, `could not find function ${target.name}`);
      return this.guard(loc, () => b.fn(args, this));
    }
    return undefined;
  }

  /** `walk(x)`: a relation yielding `[path, value]` for x and every nested value, pre-order,
   * keys in Rego order. */
  walk(v: Value, path: Value[], k: VK): boolean {
    this.step();
    if (k([path.slice(), v])) return true;
    if (typeof v !== "object" || v === null) return false;
    return this.iterate(v, (key, val) => {
      path.push(key);
      try {
        return this.walk(val, path, k);
      } finally {
        path.pop();
      }
    });
  }

  evalPrint(t: Term & { t: "call" }, k: VK): boolean {
    const parts: string[] = [];
    for (const a of t.args) {
      const vals: Value[] = [];
      this.evalTerm(a, (v) => {
        vals.push(v);
        return false;
      });
      parts.push(vals.length === 0 ? "<undefined>" : vals.map(formatPrint).join(" "));
    }
    this.prints.push(`${t.loc.file}:${t.loc.line}: ${parts.join(" ")}`);
    return k(true);
  }
}

/** Value of a non-unifying operator applied to values (undefined: builtin-style error). */
export function binopValue(
  ev: Interpreter,
  t: Term & { t: "binop" },
  l: Value,
  r: Value,
): Value | undefined {
  switch (t.op) {
    case "==":
      return equal(l, r);
    case "!=":
      return !equal(l, r);
    case "<":
      return compare(l, r) < 0;
    case "<=":
      return compare(l, r) <= 0;
    case ">":
      return compare(l, r) > 0;
    case ">=":
      return compare(l, r) >= 0;
    case "|":
    case "&":
      return ev.guard(t.loc, () => setOp(t.op, l, r));
    default:
      return ev.guard(t.loc, () => arith(t.op, l, r));
  }
}

/** `f(x, out)` rewritten once as `f(x)` (per term). */
const plainCalls = new WeakMap<Term, Term>();

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

function displayName(n: string): string {
  const i = n.indexOf("$");
  return i > 0 ? n.slice(0, i) : n;
}

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

function hasUnbound(t: Term, env: Map<string, Value | undefined>): boolean {
  switch (t.t) {
    case "var":
      return !t.global && env.get(t.name) === undefined;
    case "array":
      return t.items.some((i) => hasUnbound(i, env));
    case "object":
      return t.entries.some(([, v]) => hasUnbound(v, env));
    default:
      return false;
  }
}

function isPattern(t: Term, env: Map<string, Value | undefined>): boolean {
  return (t.t === "array" || t.t === "object") && hasUnbound(t, env);
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

export { fromJson };
