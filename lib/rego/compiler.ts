/**
 * Compiler: parses modules, classifies rules (complete, partial set, partial object / ref head,
 * function), resolves variables, checks what OPA checks at compile time that policies here
 * can hit (including recursion, `recursion.ts`), and indexes rules in a tree keyed by their
 * static path under `data`.
 */

import type { Module, Rule, RuleBody, Term } from "./ast.ts";
import { RegoError } from "./errors.ts";
import { parseModule } from "./parser.ts";
import { checkRecursion } from "./recursion.ts";
import { Resolver } from "./resolve.ts";

/** A compiled rule definition. */
export interface RuleDef {
  kind: "complete" | "object" | "set" | "function";
  /** Static path under `data`. */
  path: string[];
  /** Dynamic head segments after the static path (object / set rules). */
  dyn: Term[];
  args: Term[] | undefined;
  /** Bodies in `else` order; for set rules `value` is the member. */
  bodies: CompiledBody[];
  isDefault: boolean;
  /** Number of head reference segments as written. */
  refLen: number;
  file: string;
  line: number;
  col: number;
}

/** One body of a rule and the value it yields. */
export interface CompiledBody {
  value: Term;
  body: RuleBody["body"];
  /** Value has no local variables, so one solution is enough. */
  ground: boolean;
  line: number;
  dyn: Term[];
  args: Term[] | undefined;
}

/** A node of the rule tree (one per static path). */
export interface RuleNode {
  path: string[];
  children: Map<string, RuleNode>;
  complete: RuleDef[];
  partial: RuleDef[];
  functions: RuleDef[];
  defaults: RuleDef[];
  isPackage: boolean;
  /** All complete definitions yield the same constant (stop at the first success). */
  sameConst: boolean;
  /** All function definitions yield the same constant (stop at the first success). */
  fnSameConst: boolean;
}

/** Output of compilation shared by all evaluations. */
export interface Compiled {
  root: RuleNode;
  modules: Module[];
}

const DEPRECATED = new Set([
  "all",
  "any",
  "re_match",
  "set_diff",
  "cast_array",
  "cast_set",
  "cast_string",
  "cast_boolean",
  "cast_null",
  "cast_object",
  "net.cidr_overlap",
]);

function newNode(path: string[]): RuleNode {
  return {
    path,
    children: new Map(),
    complete: [],
    partial: [],
    functions: [],
    defaults: [],
    isPackage: false,
    sameConst: false,
    fnSameConst: false,
  };
}

/** Finds or creates the node at `path`. */
export function nodeAt(root: RuleNode, path: string[]): RuleNode {
  let n = root;
  for (const p of path) {
    let c = n.children.get(p);
    if (!c) {
      c = newNode([...n.path, p]);
      n.children.set(p, c);
    }
    n = c;
  }
  return n;
}

const TRUE = (loc: Term["loc"]): Term => ({ t: "scalar", v: true, loc });

function staticPrefix(ref: Term[]): { stat: string[]; dyn: Term[] } {
  let i = 0;
  const stat: string[] = [];
  while (i < ref.length) {
    const t = ref[i]!;
    if (t.t !== "scalar" || typeof t.v !== "string") break;
    stat.push(t.v);
    i++;
  }
  return { stat, dyn: ref.slice(i) };
}

function hasLocalVar(t: Term): boolean {
  switch (t.t) {
    case "scalar":
      return false;
    case "var":
      return !t.global;
    case "ref":
      return hasLocalVar(t.head) || t.path.some(hasLocalVar);
    case "array":
    case "set":
      return t.items.some(hasLocalVar);
    case "object":
      return t.entries.some(([k, v]) => hasLocalVar(k) || hasLocalVar(v));
    case "call":
      return t.args.some(hasLocalVar);
    case "binop":
      return hasLocalVar(t.l) || hasLocalVar(t.r);
    case "in":
      return (t.key !== undefined && hasLocalVar(t.key)) || hasLocalVar(t.value) ||
        hasLocalVar(t.coll);
    default:
      return true;
  }
}

function checkDefaultValue(t: Term, file: string): void {
  const bad = (what: string): never => {
    throw new RegoError(
      "compile",
      `${file}:${t.loc.line}:${t.loc.col}: invalid \`${what}\` in default value`,
    );
  };
  switch (t.t) {
    case "scalar":
      return;
    case "var":
      return bad("var");
    case "ref":
      return bad("ref");
    case "call":
      return bad("call");
    case "array":
    case "set":
      for (const i of t.items) checkDefaultValue(i, file);
      return;
    case "object":
      for (const [k, v] of t.entries) {
        checkDefaultValue(k, file);
        checkDefaultValue(v, file);
      }
      return;
    case "binop":
      if (["==", "!=", "<", "<=", ">", ">="].includes(t.op)) return bad("boolexpr");
      if (["+", "-", "*", "/", "%"].includes(t.op)) return bad("arithexpr");
      return bad("binexpr");
    case "in":
      return bad("membership");
    default:
      return;
  }
}

interface Classified {
  kind: RuleDef["kind"];
  stat: string[];
  dyn: Term[];
  values: (Term | undefined)[];
}

function classify(rule: Rule, mod: Module): Classified {
  const values = rule.bodies.map((b) => b.value);
  if (rule.args) return { kind: "function", stat: staticPrefix(rule.ref).stat, dyn: [], values };
  if (rule.member) {
    const { stat, dyn } = staticPrefix(rule.ref);
    return { kind: "set", stat, dyn, values: [rule.member] };
  }
  if (rule.value === undefined && !mod.v1 && rule.ref.length >= 2 && !rule.isDefault) {
    const { stat, dyn } = staticPrefix(rule.ref.slice(0, -1));
    return { kind: "set", stat, dyn, values: [rule.ref[rule.ref.length - 1]] };
  }
  const { stat, dyn } = staticPrefix(rule.ref);
  return { kind: dyn.length === 0 ? "complete" : "object", stat, dyn, values };
}

/** Compiles modules into a rule tree. */
export function compileModules(
  sources: { path: string; source: string }[],
  v0: boolean,
  builtinArity: (name: string) => number | undefined,
): Compiled {
  const modules = sources.map((s) => parseModule(s.source, s.path, { v0 }));
  const root = newNode([]);
  const ruleNames = new Map<string, Set<string>>();
  const fnArity = new Map<string, number>();
  for (const m of modules) {
    const key = m.pkg.join(".");
    const names = ruleNames.get(key) ?? new Set();
    ruleNames.set(key, names);
    nodeAt(root, m.pkg).isPackage = true;
    for (const r of m.rules) {
      const name = (r.ref[0] as { v: string }).v;
      if (m.v1 && (name === "data" || name === "input")) {
        throw new RegoError(
          "compile",
          `${m.file}:${r.loc.line}:${r.loc.col}: ${name} cannot be shadowed`,
        );
      }
      names.add(name);
      if (r.args) {
        fnArity.set(["data", ...m.pkg, ...staticPrefix(r.ref).stat].join("."), r.args.length);
      }
    }
  }
  const arity = (name: string) => {
    if (DEPRECATED.has(name)) return undefined;
    return builtinArity(name);
  };
  for (const m of modules) compileModule(m, root, ruleNames.get(m.pkg.join("."))!, fnArity, arity);
  finish(root);
  checkRecursion(root);
  return { root, modules };
}

function compileModule(
  m: Module,
  root: RuleNode,
  ruleNames: Set<string>,
  fnArity: Map<string, number>,
  builtinArity: (name: string) => number | undefined,
): void {
  const imports = new Map<string, string[]>();
  for (const imp of m.imports) {
    if (imp.path[0] === "rego" || imp.path[0] === "future") continue;
    const alias = imp.alias ?? imp.path[imp.path.length - 1]!;
    imports.set(alias, imp.path);
  }
  const resolver = new Resolver({
    file: m.file,
    pkg: m.pkg,
    ruleNames,
    imports,
    v1: m.v1,
    builtinArity,
    functionArity: (p) => fnArity.get(p),
  });
  for (const rule of m.rules) {
    const c = classify(rule, m);
    const path = [...m.pkg, ...c.stat];
    if (rule.isDefault) {
      for (const v of c.values) if (v) checkDefaultValue(v, m.file);
    }
    const bodies: CompiledBody[] = rule.bodies.map((b, i) => {
      const value = c.values[i] ?? TRUE(b.loc);
      const r = resolver.resolveBody(rule.args, [...c.dyn, value], b.body, true);
      const [dynR, valueR] = [r.head.slice(0, c.dyn.length) as Term[], r.head[c.dyn.length]!];
      return {
        value: valueR,
        body: r.body,
        ground: !hasLocalVar(valueR) && !dynR.some(hasLocalVar),
        line: b.loc.line,
        dyn: dynR,
        args: r.args,
      };
    });
    const def: RuleDef = {
      kind: c.kind,
      path,
      dyn: bodies[0]?.dyn ?? [],
      args: bodies[0]?.args,
      bodies,
      isDefault: rule.isDefault,
      refLen: rule.ref.length,
      file: m.file,
      line: rule.loc.line,
      col: rule.loc.col,
    };
    const node = nodeAt(root, path);
    if (rule.isDefault && c.dyn.length > 0) node.partial.push(def);
    else if (rule.isDefault) node.defaults.push(def);
    else if (c.kind === "complete") node.complete.push(def);
    else if (c.kind === "function") node.functions.push(def);
    else node.partial.push(def);
  }
}

function sameConstant(defs: RuleDef[]): boolean {
  const consts = defs.flatMap((d) => d.bodies.map((b) => b.value));
  return consts.length > 0 &&
    consts.every((v) => v.t === "scalar" && consts[0]!.t === "scalar" && v.v === consts[0]!.v);
}

function finish(n: RuleNode): void {
  n.sameConst = sameConstant(n.complete);
  n.fnSameConst = sameConstant(n.functions);
  for (const c of n.children.values()) finish(c);
}
