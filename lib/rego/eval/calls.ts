/**
 * Operators and calls: non-unifying binary operators, builtin and user function calls
 * (honouring `with` replacements), builtin error handling per strictness, and the two
 * builtins the interpreter runs itself: the `walk` relation and `print`.
 */

import type { CallTarget, Loc, Term } from "../ast.ts";
import { isStackOverflow } from "../errors.ts";
import { BuiltinError } from "../builtins/_util.ts";
import { compare, equal, type Value } from "../value.ts";
import type { VK } from "./machine.ts";
import { arith, setOp } from "./ops.ts";
import { formatPrint } from "./print.ts";
import { RefEvaluator } from "./refs.ts";

/** Operator and call layer of the interpreter (see machine.ts). */
export abstract class Caller extends RefEvaluator {
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
  ev: Caller,
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
