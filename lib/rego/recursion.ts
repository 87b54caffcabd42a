/**
 * Compile-time recursion check (as OPA's and regorus' compilers): builds the graph of which
 * rule-tree nodes each rule reads (`data.…` references, package-local rule names, user function
 * calls, `with … as f` replacements) and rejects a cycle, naming it:
 * `recursion detected: data.p.a -> data.p.b -> data.p.a`.
 *
 * A reference that stops at a node with rules or with children (`data.p`, `data.p.q[x]`) reads
 * that node's whole subtree, as the evaluator computes it. The evaluator keeps its own guard
 * for cycles created at run time (`with` replacements).
 */

import type { Literal, Query, Term } from "./ast.ts";
import type { RuleDef, RuleNode } from "./compiler.ts";
import { RegoError } from "./errors.ts";

function ownRules(n: RuleNode): RuleDef[] {
  return [...n.complete, ...n.partial, ...n.functions, ...n.defaults];
}

/** Collects the rule-tree nodes a term reads into `out` (subtree roots). */
class Reads {
  readonly out = new Set<RuleNode>();
  constructor(readonly root: RuleNode) {}

  term(t: Term | undefined): void {
    if (!t) return;
    switch (t.t) {
      case "scalar":
        return;
      case "var":
        if (t.global && t.name === "data") this.out.add(this.root);
        return;
      case "ref":
        if (t.head.t === "var" && t.head.global && t.head.name === "data") this.#dataRef(t.path);
        else this.term(t.head);
        for (const p of t.path) this.term(p);
        return;
      case "array":
      case "set":
        for (const i of t.items) this.term(i);
        return;
      case "object":
        for (const [k, v] of t.entries) {
          this.term(k);
          this.term(v);
        }
        return;
      case "acompr":
      case "scompr":
        this.term(t.head);
        this.query(t.body);
        return;
      case "ocompr":
        this.term(t.key);
        this.term(t.value);
        this.query(t.body);
        return;
      case "call":
        if (t.target?.kind === "user") this.#fn(t.target.path);
        for (const a of t.args) this.term(a);
        return;
      case "binop":
        this.term(t.l);
        this.term(t.r);
        return;
      case "in":
        this.term(t.key);
        this.term(t.value);
        this.term(t.coll);
        return;
    }
  }

  query(q: Query): void {
    for (const l of q) this.literal(l);
  }

  literal(l: Literal): void {
    switch (l.k) {
      case "some":
        return;
      case "expr":
        this.term(l.e);
        break;
      case "somein":
        this.term(l.key);
        this.term(l.value);
        this.term(l.coll);
        break;
      case "every":
        this.term(l.key);
        this.term(l.value);
        this.term(l.coll);
        this.query(l.body);
        break;
    }
    for (const w of l.withs) {
      if (w.valueFn?.kind === "user") this.#fn(w.valueFn.path);
      else if (!w.valueFn) this.term(w.value);
    }
  }

  #fn(path: string): void {
    let n: RuleNode | undefined = this.root;
    for (const p of path.split(".").slice(1)) n = n?.children.get(p);
    if (n) this.out.add(n);
  }

  #dataRef(path: Term[]): void {
    let n = this.root;
    for (const seg of path) {
      if (ownRules(n).length > 0) break;
      const key = seg.t === "scalar" && (typeof seg.v === "string" || typeof seg.v === "number")
        ? String(seg.v)
        : undefined;
      if (key === undefined) break;
      const child = n.children.get(key);
      if (!child) return; // base data only
      n = child;
    }
    this.out.add(n);
  }
}

function allNodes(n: RuleNode, out: RuleNode[] = []): RuleNode[] {
  out.push(n);
  for (const c of n.children.values()) allNodes(c, out);
  return out;
}

/** Throws RegoError("compile") naming the first dependency cycle between rules. */
export function checkRecursion(root: RuleNode): void {
  const withRules = allNodes(root).filter((n) => ownRules(n).length > 0);
  const subtreeCache = new Map<RuleNode, RuleNode[]>();
  const ruleNodesIn = (n: RuleNode): RuleNode[] => {
    let r = subtreeCache.get(n);
    if (!r) subtreeCache.set(n, r = allNodes(n).filter((x) => ownRules(x).length > 0));
    return r;
  };
  const edges = new Map<RuleNode, Set<RuleNode>>();
  for (const n of withRules) {
    const reads = new Reads(root);
    for (const def of ownRules(n)) {
      for (const b of def.bodies) {
        for (const a of b.args ?? []) reads.term(a);
        for (const d of b.dyn) reads.term(d);
        reads.term(b.value);
        reads.query(b.body);
      }
    }
    const targets = new Set<RuleNode>();
    for (const r of reads.out) for (const x of ruleNodesIn(r)) targets.add(x);
    edges.set(n, targets);
  }
  const state = new Map<RuleNode, 1 | 2>(); // 1: on the stack, 2: done
  const stack: RuleNode[] = [];
  const visit = (n: RuleNode): void => {
    state.set(n, 1);
    stack.push(n);
    for (const m of edges.get(n) ?? []) {
      const s = state.get(m);
      if (s === 1) fail(stack.slice(stack.indexOf(m)), m);
      if (s === undefined) visit(m);
    }
    stack.pop();
    state.set(n, 2);
  };
  for (const n of withRules) if (!state.has(n)) visit(n);
}

function fail(cycle: RuleNode[], back: RuleNode): never {
  const name = (n: RuleNode) => ["data", ...n.path].join(".");
  const first = ownRules(cycle[0]!)[0]!;
  throw new RegoError(
    "compile",
    `${first.file}:${first.line}:${first.col}: recursion detected: ${
      [...cycle, back].map(name).join(" -> ")
    }`,
  );
}
