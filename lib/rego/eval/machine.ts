/**
 * The interpreter's base layer: the mutable evaluation state (variable environment, `with`
 * state, `print` output), step / time / depth limits, variable binding and iteration over
 * collections.
 *
 * The interpreter is one class split by concept into a chain of layers, each in its own file
 * and each extending the one before (no module imports a later layer at run time, so there is
 * no import cycle):
 *
 * `Machine` → `Unifier` (unify.ts) → `RefEvaluator` (refs.ts) → `Caller` (calls.ts) →
 * `TermEvaluator` (terms.ts) → `WithScope` (with.ts) → `Interpreter` (interpreter.ts) →
 * `Evaluator` (rules.ts).
 *
 * Evaluation is continuation-passing with backtracking: every step takes a continuation `k`
 * and returns true to stop the whole search early (used by `not`, `every`, ground-valued
 * rules). Variables live in one mutable Map per rule / function activation; a binding is
 * removed when its continuation returns. Methods that a layer calls but a later layer
 * implements are declared abstract here.
 */

import type { CallTarget, Loc, Query, Term } from "../ast.ts";
import { RegoError } from "../errors.ts";
import type { BuiltinContext, BuiltinTable } from "../builtins/_util.ts";
import type { Compiled, RuleNode } from "../compiler.ts";
import { ObjectValue, SetValue, type Value } from "../value.ts";

/** Continuation: return true to stop. */
export type K = () => boolean;
/** Value continuation. */
export type VK = (v: Value) => boolean;

/** Resource limits, resolved. */
export interface Limits {
  maxSteps: number;
  deadline: number;
  maxDepth: number;
}

/** Replacement for a function under `with`. */
export type FnOverride = { fn: CallTarget } | { value: Value };

/** State that `with` replaces. */
export interface WithState {
  input: Value | undefined;
  dataOverrides: { path: string[]; value: Value }[];
  fnOverrides: Map<string, FnOverride>;
  cache: Map<unknown, Value | undefined | typeof PENDING>;
}

/** Cache marker for a rule being evaluated (recursion). */
export const PENDING: unique symbol = Symbol("pending");

const stepCheckMask = 1023;

/** Evaluation state, limits, bindings and iteration (the first interpreter layer). */
export abstract class Machine implements BuiltinContext {
  env = new Map<string, Value | undefined>();
  state: WithState;
  readonly prints: string[] = [];
  steps = 0;
  depth = 0;
  #now: number | undefined;
  /** Cleared environments for reuse by later activations (fewer allocations). */
  #envPool: Map<string, Value | undefined>[] = [];

  /** Evaluates a term, calling `k` with each of its values (terms.ts). */
  abstract evalTerm(t: Term, k: VK): boolean;
  /** Evaluates terms left to right, calling `k` with each combination of values (terms.ts). */
  abstract evalList(items: Term[], i: number, acc: Value[], k: (vs: Value[]) => boolean): boolean;
  /** Evaluates the literals of `q` from index `i` (interpreter.ts). */
  abstract evalQuery(q: Query, i: number, k: K): boolean;
  /** Value of a rule-tree node (rules.ts). */
  abstract nodeValue(node: RuleNode): Value | undefined;
  /** Calls a user function (rules.ts). */
  abstract callUser(path: string, args: Value[], loc: Loc): Value | undefined;

  constructor(
    readonly compiled: Compiled,
    readonly builtins: BuiltinTable,
    readonly data: Value,
    input: Value | undefined,
    readonly limits: Limits,
    readonly strict: boolean,
  ) {
    this.state = { input, dataOverrides: [], fnOverrides: new Map(), cache: new Map() };
  }

  nowNs(): number {
    if (this.#now === undefined) this.#now = Date.now() * 1e6;
    return this.#now;
  }

  step(): void {
    const s = ++this.steps;
    if (s > this.limits.maxSteps) {
      throw new RegoError("limit", `Evaluation exceeded ${this.limits.maxSteps} steps`);
    }
    if ((s & stepCheckMask) === 0 && performance.now() > this.limits.deadline) {
      throw new RegoError("limit", "Evaluation exceeded its time limit");
    }
  }

  fail(loc: Loc, msg: string, code: "eval" | "conflict" = "eval"): never {
    throw new RegoError(code, `${loc.file}:${loc.line}:${loc.col}: ${msg}`);
  }

  /** Runs `f` with a fresh variable environment (rule / function activation). */
  withEnv<T>(f: () => T): T {
    const saved = this.env;
    const env = this.#envPool.pop() ?? new Map<string, Value | undefined>();
    this.env = env;
    try {
      if (++this.depth > this.limits.maxDepth) {
        throw new RegoError("limit", `Evaluation exceeded maximum depth ${this.limits.maxDepth}`);
      }
      return f();
    } finally {
      this.env = saved;
      this.depth--;
      env.clear();
      this.#envPool.push(env);
    }
  }

  bind(name: string, v: Value, k: K): boolean {
    this.env.set(name, v);
    try {
      return k();
    } finally {
      this.env.set(name, undefined); // cheaper than delete; undefined means unbound
    }
  }

  iterate(c: Value, f: (key: Value, val: Value) => boolean): boolean {
    if (Array.isArray(c)) {
      for (let i = 0; i < c.length; i++) {
        this.step();
        if (f(i, c[i] as Value)) return true;
      }
      return false;
    }
    if (c instanceof ObjectValue) {
      for (const key of c.keys()) {
        this.step();
        if (f(key, c.get(key)!)) return true;
      }
      return false;
    }
    if (c instanceof SetValue) {
      for (const v of c.values()) {
        this.step();
        if (f(v, v)) return true;
      }
    }
    return false;
  }
}
