/**
 * Direct evaluation of single-valued terms, the interpreter's fast path: a term made of
 * scalars, bound variables, `input`, references whose segments are scalars or bound variables,
 * calls and non-unifying operators over such terms has at most one value and binds nothing,
 * so it is computed with plain recursion instead of continuations and closures.
 *
 * `ready()` decides (without evaluating anything) whether a term qualifies under the current
 * bindings; `direct()` then computes it (undefined: the term is undefined).
 */

import type { Term } from "../ast.ts";
import type { Value } from "../value.ts";
import { binopValue, type Caller } from "./calls.ts";
import { constValue } from "./constants.ts";
import { index } from "./paths.ts";

/** Local variables a term needs bound to be direct, or null if it never is (per term). */
const needs = new WeakMap<Term, readonly string[] | null>();

function staticNeeds(t: Term, out: string[]): boolean {
  switch (t.t) {
    case "scalar":
      return true;
    case "var":
      if (t.global) return t.name === "input";
      out.push(t.name);
      return true;
    case "ref": {
      const h = t.head;
      if (!(h.t === "var" && h.global && h.name === "data") && !staticNeeds(h, out)) return false;
      for (const seg of t.path) {
        if (seg.t === "scalar") continue;
        if (seg.t !== "var" || !staticNeeds(seg, out)) return false;
      }
      return true;
    }
    case "call": {
      const target = t.target;
      if (!target || t.outputArg) return false;
      if (target.kind === "builtin" && (target.name === "print" || target.name === "walk")) {
        return false;
      }
      for (const a of t.args) if (!staticNeeds(a, out)) return false;
      return true;
    }
    case "binop":
      return t.op !== "=" && t.op !== ":=" && staticNeeds(t.l, out) && staticNeeds(t.r, out);
    case "array":
    case "set":
    case "object":
      return constValue(t) !== undefined;
    default:
      return false;
  }
}

/** True when `direct(ev, t)` applies to `t` under the current bindings. */
export function ready(ev: Caller, t: Term): boolean {
  let n = needs.get(t);
  if (n === undefined) {
    const out: string[] = [];
    n = staticNeeds(t, out) ? [...new Set(out)] : null;
    needs.set(t, n);
  }
  if (n === null) return false;
  const env = ev.env;
  for (let i = 0; i < n.length; i++) if (env.get(n[i]!) === undefined) return false;
  return true;
}

/** Value of a term for which `ready()` holds; undefined when the term is undefined. */
export function direct(ev: Caller, t: Term): Value | undefined {
  switch (t.t) {
    case "scalar":
      return t.v;
    case "var":
      return t.global ? ev.state.input : ev.env.get(t.name);
    case "ref": {
      const h = t.head;
      if (h.t === "var" && h.global && h.name === "data") {
        let out: Value | undefined;
        ev.evalDataRef(t, (v) => {
          out = v;
          return true;
        });
        return out;
      }
      let v = direct(ev, h);
      for (const seg of t.path) {
        if (v === undefined) return undefined;
        const key = seg.t === "scalar" ? seg.v : direct(ev, seg);
        if (key === undefined) return undefined;
        v = index(v, key);
      }
      return v;
    }
    case "call": {
      const args: Value[] = [];
      for (const a of t.args) {
        const v = direct(ev, a);
        if (v === undefined) return undefined;
        args.push(v);
      }
      ev.step();
      return ev.invoke(t.target!, args, t.loc);
    }
    case "binop": {
      const l = direct(ev, t.l);
      if (l === undefined) return undefined;
      const r = direct(ev, t.r);
      return r === undefined ? undefined : binopValue(ev, t, l, r);
    }
    default:
      return constValue(t);
  }
}
