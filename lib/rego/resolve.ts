/**
 * Variable resolution: decides for every variable whether it is a local (declared by `:=`,
 * `some`, function arguments, or implicitly by unification), a rule of the package, an import
 * alias, or the `data` / `input` root; rewrites globals to `data.…` references, renames locals
 * of nested scopes (comprehensions, `every`) apart, resolves call targets, checks
 * re-declarations, and schedules every query.
 */

import type { CallTarget, Literal, Loc, Query, Term, With } from "./ast.ts";
import { RegoError } from "./errors.ts";
import { schedule } from "./schedule.ts";

/** What the resolver needs to know about the rest of the policy. */
export interface ResolveContext {
  file: string;
  /** Package path without `data`. */
  pkg: string[];
  ruleNames: Set<string>;
  /** Import alias → full path starting with `data` or `input`. */
  imports: Map<string, string[]>;
  v1: boolean;
  /** Arity of a builtin (-1 = variadic), undefined if unknown. */
  builtinArity(name: string): number | undefined;
  /** Arity of a user function at a dotted `data.…` path, undefined if none. */
  functionArity(path: string): number | undefined;
}

/** A resolved `with`: what it replaces and by what. */
export type WithTarget =
  | { kind: "input"; path: string[] }
  | { kind: "data"; path: string[] }
  | { kind: "fn"; name: string };

declare module "./ast.ts" {
  interface With {
    resolved?: WithTarget;
    valueFn?: CallTarget;
  }
}

class Scope {
  readonly names = new Map<string, string>();
  constructor(readonly parent: Scope | undefined, readonly id: number) {}
  lookup(name: string): string | undefined {
    return this.names.get(name) ?? this.parent?.lookup(name);
  }
  runtimeNames(): Set<string> {
    return new Set(this.names.values());
  }
}

/** Resolves rules and queries of one module. */
export class Resolver {
  #scopes = 0;
  #wild = 0;
  constructor(readonly ctx: ResolveContext) {}

  #fail(loc: Loc, msg: string): never {
    throw new RegoError("compile", `${loc.file}:${loc.line}:${loc.col}: ${msg}`);
  }

  /** Resolves one rule body with its head terms and arguments; returns rewritten parts. */
  resolveBody(
    args: Term[] | undefined,
    head: (Term | undefined)[],
    body: Query,
    topNames: boolean,
  ): { args: Term[] | undefined; head: (Term | undefined)[]; body: Query; locals: Set<string> } {
    const scope = new Scope(undefined, topNames ? 0 : ++this.#scopes);
    for (const a of args ?? []) for (const n of patternVars(a)) this.#declare(scope, n, a.loc);
    const extra = [...(args ?? []), ...head.filter((t): t is Term => t !== undefined)];
    const argNames = new Set((args ?? []).flatMap((a) => patternVars(a)));
    const newBody = this.#query(body, scope, extra, argNames);
    return {
      args: args?.map((a) => this.#term(a, scope)),
      head: head.map((t) => t && this.#term(t, scope)),
      body: newBody,
      locals: scope.runtimeNames(),
    };
  }

  #declare(scope: Scope, name: string, loc: Loc): void {
    if (name === "_") return;
    if (this.ctx.v1 && (name === "input" || name === "data")) {
      this.#fail(loc, `${name} cannot be shadowed`);
    }
    scope.names.set(name, scope.id === 0 ? name : `${name}$${scope.id}`);
  }

  #query(q: Query, scope: Scope, extra: Term[], initial = new Set<string>()): Query {
    const declared = new Set<string>();
    for (const l of q) for (const n of declaredBy(l)) declared.add(n);
    for (const n of declared) {
      if (!scope.names.has(n)) this.#declare(scope, n, q[0]!.loc);
    }
    const used = new Set<string>();
    for (const t of extra) usedVars(t, used);
    for (const l of q) literalVars(l, used);
    for (const n of used) {
      if (n === "_" || scope.names.has(n) || declared.has(n)) continue;
      if (scope.parent?.lookup(n) !== undefined) continue;
      if (this.#isGlobal(n)) continue;
      this.#declare(scope, n, q[0]?.loc ?? extra[0]!.loc);
    }
    this.#checkRedeclare(q, initial);
    const out = q.map((l) => this.#literal(l, scope));
    return schedule(out, scope.runtimeNames());
  }

  #checkRedeclare(q: Query, initial: Set<string>): void {
    const seen = new Set(initial);
    for (const l of q) {
      for (const n of declaredBy(l)) {
        if (seen.has(n)) this.#fail(l.loc, `var \`${n}\` used before definition below`);
      }
      const u = new Set<string>();
      literalVars(l, u);
      for (const n of u) if (n !== "_") seen.add(n);
    }
  }

  #isGlobal(n: string): boolean {
    return this.ctx.ruleNames.has(n) || this.ctx.imports.has(n) || n === "data" ||
      n === "input";
  }

  #literal(l: Literal, scope: Scope): Literal {
    const withs = "withs" in l ? l.withs.map((w) => this.#with(w, scope)) : [];
    switch (l.k) {
      case "some":
        return l;
      case "expr":
        if (l.e.t === "binop" && (l.e.op === "=" || l.e.op === ":=")) {
          checkPatterns(l.e.l, l.e.r, l.e.op, (m) => this.#fail(l.loc, m));
        }
        return {
          ...l,
          e: l.e.t === "call" && !l.neg ? this.#call(l.e, scope, true) : this.#term(l.e, scope),
          withs,
        };
      case "somein":
        return {
          ...l,
          key: l.key && this.#term(l.key, scope),
          value: this.#term(l.value, scope),
          coll: this.#term(l.coll, scope),
          withs,
        };
      case "every": {
        const coll = this.#term(l.coll, scope);
        const inner = new Scope(scope, ++this.#scopes);
        for (const t of [l.key, l.value]) {
          if (t) { for (const n of patternVars(t)) this.#declare(inner, n, t.loc); }
        }
        const heads = [l.key, l.value].filter((t): t is Term => t !== undefined);
        const names = new Set(heads.flatMap((h) => patternVars(h)));
        const body = this.#query(l.body, inner, heads, names);
        return {
          ...l,
          key: l.key && this.#term(l.key, inner),
          value: this.#term(l.value, inner),
          coll,
          body,
          withs,
        };
      }
    }
  }

  #with(w: With, scope: Scope): With {
    const resolved = this.#withTarget(w.target);
    const fn = this.#fnRef(w.value, scope);
    const out: With = { target: w.target, value: fn ? w.value : this.#term(w.value, scope) };
    out.resolved = resolved;
    if (fn) out.valueFn = fn;
    return out;
  }

  #withTarget(t: Term): WithTarget {
    const name = dotted(t);
    if (name === undefined) this.#fail(t.loc, "invalid `with` target");
    const parts = name.split(".");
    const full = this.#globalPath(parts);
    if (full?.[0] === "input") return { kind: "input", path: full.slice(1) };
    if (full?.[0] === "data") return { kind: "data", path: full.slice(1) };
    if (this.ctx.builtinArity(name) !== undefined) return { kind: "fn", name };
    return this.#fail(t.loc, `invalid \`with\` target ${name}`);
  }

  /** A term naming a function (user or builtin), for `with f as g`. */
  #fnRef(t: Term, scope: Scope): CallTarget | undefined {
    const name = dotted(t);
    if (name === undefined) return undefined;
    const parts = name.split(".");
    if (scope.lookup(parts[0]!) !== undefined) return undefined;
    const full = this.#globalPath(parts);
    if (full?.[0] === "data" && this.ctx.functionArity(full.join(".")) !== undefined) {
      return { kind: "user", path: full.join(".") };
    }
    if (!full && this.ctx.builtinArity(name) !== undefined) return { kind: "builtin", name };
    return undefined;
  }

  /** Full path of a global dotted name, or undefined if it is not global. */
  #globalPath(parts: string[]): string[] | undefined {
    const [first, ...rest] = parts;
    if (first === undefined) return undefined;
    if (this.ctx.ruleNames.has(first)) return ["data", ...this.ctx.pkg, first, ...rest];
    const imp = this.ctx.imports.get(first);
    if (imp) return [...imp, ...rest];
    if (first === "data" || first === "input") return parts;
    return undefined;
  }

  #term(t: Term, scope: Scope): Term {
    switch (t.t) {
      case "scalar":
        return t;
      case "var":
        return this.#var(t, scope);
      case "ref": {
        const head = this.#term(t.head, scope);
        const path = t.path.map((p) => this.#term(p, scope));
        if (head.t === "ref") {
          return { t: "ref", head: head.head, path: [...head.path, ...path], loc: t.loc };
        }
        return { t: "ref", head, path, loc: t.loc };
      }
      case "array":
      case "set":
        return { ...t, items: t.items.map((i) => this.#term(i, scope)) };
      case "object":
        return {
          ...t,
          entries: t.entries.map(([k, v]) => [this.#term(k, scope), this.#term(v, scope)]),
        };
      case "acompr":
      case "scompr": {
        const inner = new Scope(scope, ++this.#scopes);
        const body = this.#query(t.body, inner, [t.head]);
        return { ...t, head: this.#term(t.head, inner), body };
      }
      case "ocompr": {
        const inner = new Scope(scope, ++this.#scopes);
        const body = this.#query(t.body, inner, [t.key, t.value]);
        return { ...t, key: this.#term(t.key, inner), value: this.#term(t.value, inner), body };
      }
      case "call":
        return this.#call(t, scope);
      case "binop":
        return { ...t, l: this.#term(t.l, scope), r: this.#term(t.r, scope) };
      case "in":
        return {
          ...t,
          key: t.key && this.#term(t.key, scope),
          value: this.#term(t.value, scope),
          coll: this.#term(t.coll, scope),
        };
    }
  }

  #var(t: Term & { t: "var" }, scope: Scope): Term {
    if (t.global) return t;
    if (t.name === "_") return { t: "var", name: `_$${++this.#wild}`, loc: t.loc };
    const local = scope.lookup(t.name);
    if (local !== undefined) return { t: "var", name: local, loc: t.loc };
    const full = this.#globalPath([t.name]);
    if (full) {
      const head: Term = { t: "var", name: full[0]!, loc: t.loc, global: true };
      if (full.length === 1) return head;
      const path: Term[] = full.slice(1).map((v) => ({ t: "scalar", v, loc: t.loc }));
      return { t: "ref", head, path, loc: t.loc };
    }
    return { t: "var", name: t.name, loc: t.loc };
  }

  #call(t: Term & { t: "call" }, scope: Scope, statement = false): Term {
    const args = t.args.map((a) => this.#term(a, scope));
    const parts = t.name.split(".");
    let target: CallTarget;
    let arity: number | undefined;
    // For calls an import alias takes precedence over a rule of the same name (regorus).
    const imp = this.ctx.imports.get(parts[0]!);
    const full = scope.lookup(parts[0]!) !== undefined
      ? undefined
      : imp && imp[0] === "data"
      ? [...imp, ...parts.slice(1)]
      : this.#globalPath(parts);
    if (full && full[0] === "data") {
      const path = full.join(".");
      arity = this.ctx.functionArity(path);
      if (arity === undefined) {
        const b = this.ctx.builtinArity(t.name);
        if (b === undefined) this.#fail(t.loc, `could not find function ${t.name}`);
        target = { kind: "builtin", name: t.name };
        arity = b;
      } else target = { kind: "user", path };
    } else {
      arity = this.ctx.builtinArity(t.name);
      if (arity === undefined) this.#fail(t.loc, `could not find function ${t.name}`);
      target = { kind: "builtin", name: t.name };
    }
    const out: Term = { t: "call", name: t.name, args, loc: t.loc, target };
    if (arity >= 0 && args.length !== arity) {
      if (statement && args.length === arity + 1) out.outputArg = true;
      else {
        this.#fail(t.loc, `\`${t.name}\` expects ${arity} argument${arity === 1 ? "" : "s"}`);
      }
    }
    return out;
  }
}

/** Dotted name of a var / var.a.b term. */
export function dotted(t: Term): string | undefined {
  if (t.t === "var") return t.name;
  if (t.t !== "ref" || t.head.t !== "var") return undefined;
  const parts = [t.head.name];
  for (const p of t.path) {
    if (p.t !== "scalar" || typeof p.v !== "string") return undefined;
    parts.push(p.v);
  }
  return parts.join(".");
}

/** Variables in pattern positions (var, array and object literal values). */
export function patternVars(t: Term, out: string[] = []): string[] {
  if (t.t === "var") out.push(t.name);
  else if (t.t === "array") { for (const i of t.items) patternVars(i, out); }
  else if (t.t === "object") { for (const [, v] of t.entries) patternVars(v, out); }
  return out;
}

function declaredBy(l: Literal): string[] {
  switch (l.k) {
    case "some":
      return l.vars.filter((v) => v !== "_");
    case "somein": {
      const vs = patternVars(l.value);
      if (l.key) patternVars(l.key, vs);
      return vs.filter((v) => v !== "_");
    }
    case "expr":
      if (!l.neg && l.e.t === "binop" && l.e.op === ":=") {
        return patternVars(l.e.l).filter((v) => v !== "_");
      }
      return [];
    case "every":
      return [];
  }
}

/** Variables used at this level (not inside nested comprehension / every bodies). */
function usedVars(t: Term, out: Set<string>): void {
  switch (t.t) {
    case "scalar":
      return;
    case "var":
      if (!t.global) out.add(t.name);
      return;
    case "ref":
      usedVars(t.head, out);
      for (const p of t.path) usedVars(p, out);
      return;
    case "array":
    case "set":
      for (const i of t.items) usedVars(i, out);
      return;
    case "object":
      for (const [k, v] of t.entries) {
        usedVars(k, out);
        usedVars(v, out);
      }
      return;
    case "acompr":
    case "scompr":
    case "ocompr":
      return;
    case "call":
      for (const a of t.args) usedVars(a, out);
      return;
    case "binop":
      usedVars(t.l, out);
      usedVars(t.r, out);
      return;
    case "in":
      if (t.key) usedVars(t.key, out);
      usedVars(t.value, out);
      usedVars(t.coll, out);
      return;
  }
}

function literalVars(l: Literal, out: Set<string>): void {
  switch (l.k) {
    case "some":
      for (const v of l.vars) out.add(v);
      return;
    case "expr":
      usedVars(l.e, out);
      break;
    case "somein":
      if (l.key) usedVars(l.key, out);
      usedVars(l.value, out);
      usedVars(l.coll, out);
      break;
    case "every":
      usedVars(l.coll, out);
      break;
  }
  for (const w of l.withs) usedVars(w.value, out);
}

function hasVar(t: Term): boolean {
  if (t.t === "var") return !t.global;
  if (t.t === "array") return t.items.some(hasVar);
  if (t.t === "object") return t.entries.some(([k, v]) => hasVar(k) || hasVar(v));
  if (t.t === "ref") return hasVar(t.head) || t.path.some(hasVar);
  return false;
}

function keyText(t: Term): string | undefined {
  return t.t === "scalar" ? JSON.stringify(t.v) : undefined;
}

/** Static checks regorus makes on `=` / `:=` between literal patterns. */
function checkPatterns(l: Term, r: Term, op: string, fail: (m: string) => never): void {
  if (op === ":=" && !hasVar(l)) {
    fail("assignment operator := requires left-hand side to have bindable variables");
  }
  const lk = l.t === "array" || l.t === "object", rk = r.t === "array" || r.t === "object";
  if (!lk || !rk) return;
  if (l.t !== r.t) {
    fail(
      "incompatible destructuring patterns: both sides must be arrays or objects with matching structure",
    );
  }
  if (l.t === "array" && r.t === "array") {
    if (l.items.length !== r.items.length) fail("mismatch in number of array elements");
    l.items.forEach((x, i) => checkPatterns(x, r.items[i]!, "=", fail));
    return;
  }
  if (l.t !== "object" || r.t !== "object") return;
  const lkeys = l.entries.map(([k]) => keyText(k)), rkeys = r.entries.map(([k]) => keyText(k));
  if (lkeys.includes(undefined) || rkeys.includes(undefined)) return;
  const ls = [...lkeys].sort(), rs = [...rkeys].sort();
  if (ls.join(",") === rs.join(",")) return;
  if (!hasVar(r)) {
    fail(`object literal keys mismatch. Expected keys [${ls.join(", ")}] got [${rs.join(", ")}].`);
  }
  if (ls.length !== rs.length) {
    fail(
      `object field count mismatch in assignment: left has ${ls.length} fields, right has ${rs.length} fields`,
    );
  }
  const missing = rkeys.find((k) => !lkeys.includes(k));
  fail(`key ${missing} not found in left-hand side object during destructuring`);
}
