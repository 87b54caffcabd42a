/** CompiledPolicy implementation: query compilation, evaluation, limits, result shaping. */

import type { Literal, Query } from "./ast.ts";
import type { Builtin, BuiltinTable } from "./builtins/_util.ts";
import { BuiltinError } from "./builtins/_util.ts";
import { builtins as standardBuiltins } from "./builtins/mod.ts";
import { type Compiled, compileModules, type RuleNode } from "./compiler.ts";
import { isStackOverflow, RegoError } from "./errors.ts";
import { Evaluator } from "./eval/rules.ts";
import { explain, type Explanation } from "./explain.ts";
import { parseModule, parseQuery } from "./parser.ts";
import { Resolver } from "./resolve.ts";
import { fromJson, type JsonValue, ObjectValue, toJson, type Value } from "./value.ts";

/** A Rego source module. `path` is used in error messages and `print` output. */
export interface RegoModule {
  path: string;
  source: string;
}

/** A host function callable from Rego (synchronous). Return undefined for "undefined". */
export type CustomBuiltin = (...args: JsonValue[]) => JsonValue | undefined;

/** Compilation options. */
export interface CompileOptions {
  /** Accept v0 syntax (rules without `if`, partial sets without `contains`). Default false. */
  v0?: boolean;
  customBuiltins?: Record<string, CustomBuiltin>;
}

/** Evaluation limits. Defaults: 10 million steps, 5000 ms, depth 2000. */
export interface EvalLimits {
  maxSteps?: number;
  timeoutMs?: number;
  maxDepth?: number;
}

/** Evaluation options. `strict` turns builtin errors into errors (default: undefined). */
export interface EvalOptions {
  input?: JsonValue;
  data?: JsonValue;
  limits?: EvalLimits;
  explain?: boolean;
  strict?: boolean;
}

/** The outcome of `evaluate`. */
export interface EvalResult {
  value: JsonValue | undefined;
  prints: string[];
  explanation?: Explanation;
}

/** One solution of a query: its variable bindings and expression values. */
export interface QueryResult {
  bindings: Record<string, JsonValue>;
  expressions: JsonValue[];
}

/** A compiled set of modules. */
export interface CompiledPolicy {
  /** Evaluates a reference (`data.policy.allow`) or query; value of the first solution. */
  evaluate(query: string, options?: EvalOptions): EvalResult;
  /** All solutions of a query. */
  queryAll(query: string, options?: EvalOptions): { results: QueryResult[]; prints: string[] };
  /** Paths of all rules, e.g. `data.policy.allow`. */
  rules(): string[];
}

interface CompiledQuery {
  body: Query;
  order: Literal[];
  single: boolean;
}

const MAX_QUERY_CACHE = 256;

/** Internal query solution (values not yet converted to JSON). */
export interface RawResult {
  bindings: Map<string, Value>;
  expressions: Value[];
}

/** The CompiledPolicy implementation (exported for the conformance runner). */
export class Policy implements CompiledPolicy {
  #queries = new Map<string, CompiledQuery>();
  constructor(readonly compiled: Compiled, readonly table: BuiltinTable) {}

  rules(): string[] {
    const out: string[] = [];
    const walk = (n: RuleNode) => {
      if (n.complete.length + n.partial.length + n.functions.length + n.defaults.length > 0) {
        out.push(["data", ...n.path].join("."));
      }
      for (const c of n.children.values()) walk(c);
    };
    walk(this.compiled.root);
    return out.sort();
  }

  #query(text: string): CompiledQuery {
    let q = this.#queries.get(text);
    if (q) return q;
    const parsed = guardStack(() => parseQuery(text), "Query compilation");
    const resolver = new Resolver({
      file: "<query>",
      pkg: [],
      ruleNames: new Set(),
      imports: new Map(),
      v1: false,
      builtinArity: (n) => this.table.get(n)?.arity,
      functionArity: (p) => functionArity(this.compiled.root, p),
    });
    const body = guardStack(
      () => resolver.resolveBody(undefined, [], parsed, true).body,
      "Query compilation",
    );
    const order = [...body].sort((a, b) => a.loc.line - b.loc.line || a.loc.col - b.loc.col);
    q = { body, order, single: body.length === 1 };
    if (this.#queries.size >= MAX_QUERY_CACHE) this.#queries.clear();
    this.#queries.set(text, q);
    return q;
  }

  #evaluator(options: EvalOptions): Evaluator {
    const lim = options.limits ?? {};
    const data = options.data === undefined ? new ObjectValue() : fromJson(options.data);
    if (!(data instanceof ObjectValue)) {
      throw new RegoError("eval", "Cannot evaluate: data must be an object");
    }
    return new Evaluator(
      this.compiled,
      this.table,
      data,
      options.input === undefined ? undefined : fromJson(options.input),
      {
        maxSteps: lim.maxSteps ?? 10_000_000,
        deadline: performance.now() + (lim.timeoutMs ?? 5000),
        maxDepth: lim.maxDepth ?? 2000,
      },
      options.strict ?? false,
    );
  }

  #run(text: string, options: EvalOptions, firstOnly: boolean) {
    const q = this.#query(text);
    const ev = guardStack(() => this.#evaluator(options));
    const results: RawResult[] = [];
    const exprs = new Map<Literal, Value>();
    const run = (i: number): boolean => {
      if (i === q.body.length) {
        const bindings = new Map<string, Value>();
        for (const [k, v] of ev.env) {
          if (v !== undefined && !k.startsWith("_") && !k.includes("$")) bindings.set(k, v);
        }
        const expressions = q.order.map((l) => exprs.get(l) ?? true);
        results.push({ bindings, expressions });
        return firstOnly;
      }
      const l = q.body[i]!;
      if (l.k === "expr" && !l.neg && l.withs.length === 0 && !isAssign(l)) {
        ev.step();
        return ev.evalTerm(l.e, (v) => {
          if (v === false && !q.single) return false;
          exprs.set(l, v);
          try {
            return run(i + 1);
          } finally {
            exprs.delete(l);
          }
        });
      }
      return ev.evalLiteral(l, () => run(i + 1));
    };
    guardStack(() => run(0));
    return { results, prints: ev.prints };
  }

  /** All solutions as Rego values (used by the conformance runner). */
  queryRaw(query: string, options: EvalOptions = {}): { results: RawResult[]; prints: string[] } {
    return this.#run(query, options, false);
  }

  queryAll(query: string, options: EvalOptions = {}) {
    const { results, prints } = this.#run(query, options, false);
    return { results: guardStack(() => results.map(jsonResult)), prints };
  }

  evaluate(query: string, options: EvalOptions = {}): EvalResult {
    const { results, prints } = this.#run(query, options, true);
    const r = results[0] && guardStack(() => jsonResult(results[0]!));
    let value: JsonValue | undefined;
    if (r) {
      value = Object.keys(r.bindings).length > 0 ? r.bindings : r.expressions.at(-1);
    }
    const out: EvalResult = { value, prints };
    if (options.explain) {
      out.explanation = guardStack(() =>
        explain(this.compiled, query, value, () => this.#evaluator(options))
      );
    }
    return out;
  }
}

function jsonResult(r: RawResult): QueryResult {
  const bindings: Record<string, JsonValue> = {};
  for (const [k, v] of r.bindings) bindings[k] = toJson(v);
  return { bindings, expressions: r.expressions.map(toJson) };
}

function isAssign(l: Literal & { k: "expr" }): boolean {
  return (l.e.t === "binop" && (l.e.op === "=" || l.e.op === ":=")) ||
    (l.e.t === "call" && l.e.outputArg === true);
}

function functionArity(root: RuleNode, path: string): number | undefined {
  let n: RuleNode | undefined = root;
  for (const p of path.split(".").slice(1)) n = n?.children.get(p);
  return n?.functions[0]?.args?.length;
}

/** Turns a JS stack overflow (deeply nested policy text, input, data or values) into a
 * RegoError("limit"); `what` names the stage in the message. */
export function guardStack<T>(f: () => T, what = "Evaluation"): T {
  try {
    return f();
  } catch (e) {
    if (isStackOverflow(e)) {
      throw new RegoError("limit", `${what} exceeded the maximum nesting depth`, { cause: e });
    }
    throw e;
  }
}

function customTable(custom: Record<string, CustomBuiltin> | undefined): BuiltinTable {
  const table: BuiltinTable = new Map(standardBuiltins);
  for (const name of Object.keys(custom ?? {})) {
    const f = custom![name]!;
    const b: Builtin = {
      arity: -1,
      fn: (args) => {
        let r: JsonValue | undefined;
        try {
          r = f(...args.map(toJson));
        } catch (e) {
          throw new BuiltinError(`\`${name}\` failed: ${e instanceof Error ? e.message : e}`);
        }
        return r === undefined ? undefined : fromJson(r);
      },
    };
    table.set(name, b);
  }
  return table;
}

/** Compiles modules. Throws RegoError ("parse" | "compile") naming `file:line:col`. */
export function compile(modules: RegoModule[], options: CompileOptions = {}): CompiledPolicy {
  const table = customTable(options.customBuiltins);
  const compiled = guardStack(
    () => compileModules(modules, options.v0 ?? false, (n) => table.get(n)?.arity),
    "Compilation",
  );
  return new Policy(compiled, table);
}

/** Checks that a module parses. Throws RegoError ("parse"). */
export function checkSyntax(source: string, options: { v0?: boolean } = {}): void {
  guardStack(() => parseModule(source, "policy.rego", { v0: options.v0 ?? false }), "Parsing");
}
