/** Unification (`=`, `:=`, patterns in `some … in`, function arguments): matches terms
 * against terms or values, binding unbound variables for the continuation. */

import type { Term } from "../ast.ts";
import { show } from "../builtins/_util.ts";
import { compare, equal, ObjectValue, type Value } from "../value.ts";
import { type K, Machine } from "./machine.ts";

/** Unification layer of the interpreter (see machine.ts for the layering). */
export abstract class Unifier extends Machine {
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
}

/** Source name of a (possibly renamed `x$1`) variable, for messages. */
export function displayName(n: string): string {
  const i = n.indexOf("$");
  return i > 0 ? n.slice(0, i) : n;
}

/** True when `t` (a variable, or an array / object pattern) contains an unbound variable. */
export function hasUnbound(t: Term, env: Map<string, Value | undefined>): boolean {
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
