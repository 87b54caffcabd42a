/**
 * Literal scheduling: reorders a query so that each literal runs after the literals that bind
 * the variables it reads (OPA does the same; policies rely on it, e.g. a rule body that uses a
 * variable bound further down). Order is otherwise preserved.
 */

import type { Literal, Query, Term } from "./ast.ts";

interface Flow {
  ins: Set<string>;
  outs: Set<string>;
  /** `x = y` between two variables needs one of them bound. */
  anyOf?: string[];
}

function walk(t: Term, out: boolean, scope: Set<string>, f: Flow): void {
  switch (t.t) {
    case "scalar":
      return;
    case "var":
      if (!t.global && scope.has(t.name)) (out ? f.outs : f.ins).add(t.name);
      return;
    case "ref":
      walk(t.head, false, scope, f);
      for (const p of t.path) walk(p, true, scope, f);
      return;
    case "array":
    case "set":
      for (const i of t.items) walk(i, out, scope, f);
      return;
    case "object":
      for (const [k, v] of t.entries) {
        walk(k, false, scope, f);
        walk(v, out, scope, f);
      }
      return;
    case "acompr":
    case "scompr":
      captured(t.body, [t.head], scope, f);
      return;
    case "ocompr":
      captured(t.body, [t.key, t.value], scope, f);
      return;
    case "call":
      for (const a of t.args) walk(a, false, scope, f);
      return;
    case "binop":
      if (t.op === "=" || t.op === ":=") {
        walk(t.l, true, scope, f);
        walk(t.r, true, scope, f);
      } else {
        walk(t.l, false, scope, f);
        walk(t.r, false, scope, f);
      }
      return;
    case "in":
      if (t.key) walk(t.key, false, scope, f);
      walk(t.value, false, scope, f);
      walk(t.coll, false, scope, f);
      return;
  }
}

/** Variables of the enclosing scope used inside a nested query are inputs. */
function captured(body: Query, heads: Term[], scope: Set<string>, f: Flow): void {
  const inner: Flow = { ins: new Set(), outs: new Set() };
  for (const h of heads) walk(h, false, scope, inner);
  for (const l of body) literalFlow(l, scope, inner);
  for (const v of inner.ins) f.ins.add(v);
  for (const v of inner.outs) f.ins.add(v);
}

function literalFlow(l: Literal, scope: Set<string>, f: Flow): void {
  switch (l.k) {
    case "some":
      return;
    case "expr":
      if (l.neg) {
        const inner: Flow = { ins: new Set(), outs: new Set() };
        walk(l.e, false, scope, inner);
        for (const v of inner.ins) f.ins.add(v);
        for (const v of inner.outs) f.ins.add(v);
      } else {
        walk(l.e, false, scope, f);
        outputArg(l.e, scope, f);
      }
      break;
    case "somein":
      if (l.key) walk(l.key, true, scope, f);
      walk(l.value, true, scope, f);
      walk(l.coll, false, scope, f);
      break;
    case "every": {
      walk(l.coll, false, scope, f);
      captured(l.body, [], scope, f);
      break;
    }
  }
  for (const w of l.withs) walk(w.value, false, scope, f);
}

/** Old-style calls `f(x, out)` bind their extra last argument. */
function outputArg(e: Term, scope: Set<string>, f: Flow): void {
  if (e.t !== "call" || !e.outputArg) return;
  const last = e.args[e.args.length - 1];
  if (last?.t === "var" && scope.has(last.name)) {
    f.ins.delete(last.name);
    f.outs.add(last.name);
  }
}

/** Returns the literals in execution order. `scope` holds this query's local variables. */
export function schedule(q: Query, scope: Set<string>): Query {
  if (q.length < 2) return q;
  const flows = q.map((l) => {
    const f: Flow = { ins: new Set(), outs: new Set() };
    literalFlow(l, scope, f);
    for (const v of f.outs) f.ins.delete(v);
    if (l.k === "expr" && !l.neg && l.e.t === "binop" && (l.e.op === "=" || l.e.op === ":=")) {
      const { l: a, r: b } = l.e;
      if (a.t === "var" && b.t === "var" && scope.has(a.name) && scope.has(b.name)) {
        f.anyOf = [a.name, b.name];
      }
    }
    return f;
  });
  const bindable = new Set<string>();
  for (const f of flows) for (const v of f.outs) bindable.add(v);
  const bound = new Set<string>();
  const remaining = q.map((_, i) => i);
  const order: number[] = [];
  while (remaining.length > 0) {
    let pick = remaining.findIndex((i) => {
      const f = flows[i]!;
      for (const v of f.ins) if (bindable.has(v) && !bound.has(v)) return false;
      if (f.anyOf && !f.anyOf.some((v) => bound.has(v))) return false;
      return true;
    });
    if (pick < 0) pick = 0;
    const i = remaining.splice(pick, 1)[0]!;
    order.push(i);
    for (const v of flows[i]!.outs) bound.add(v);
  }
  return order.every((v, i) => v === i) ? q : order.map((i) => q[i]!);
}
