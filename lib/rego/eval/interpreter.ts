/**
 * Queries and literals: the top layer of the tree-walking interpreter (machine.ts describes
 * the layering and the continuation-passing style). Literals that are single-valued checks or
 * assignments run directly; the others (`some … in`, `every`, unification, relations) run with
 * continuations. Rule-tree evaluation is the `Evaluator` subclass in rules.ts.
 */

import type { Literal, Loc, Query, Term } from "../ast.ts";
import { SetValue, type Value } from "../value.ts";
import { direct, ready } from "./direct.ts";
import type { K } from "./machine.ts";
import { WithScope } from "./with.ts";

/** Per-evaluation interpreter. */
export abstract class Interpreter extends WithScope {
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
}

/** `f(x, out)` rewritten once as `f(x)` (per term). */
const plainCalls = new WeakMap<Term, Term>();
