/**
 * Term evaluation: scalars, variables, collections, comprehensions and membership (`in`);
 * single-valued references, calls and operators take the direct path (direct.ts), the others
 * the relational one (refs.ts, calls.ts).
 */

import type { Term } from "../ast.ts";
import { show } from "../builtins/_util.ts";
import { equal, ObjectValue, SetValue, type Value } from "../value.ts";
import { Caller } from "./calls.ts";
import { constValue } from "./constants.ts";
import { direct, ready } from "./direct.ts";
import type { VK } from "./machine.ts";
import { inCollection } from "./ops.ts";
import { displayName } from "./unify.ts";

/** Term layer of the interpreter (see machine.ts). */
export abstract class TermEvaluator extends Caller {
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
}
