/** Rule-tree evaluation: complete rules, partial sets / objects, functions, defaults,
 * conflicts, memoization per `with` state, recursion detection. */

import type { Loc } from "../ast.ts";
import type { Compiled, CompiledBody, RuleDef, RuleNode } from "../compiler.ts";
import { RegoError } from "../errors.ts";
import { canonical, equal, ObjectValue, SetValue, type Value } from "../value.ts";
import { Interpreter } from "./interpreter.ts";
import { PENDING } from "./machine.ts";
import { baseAt } from "./paths.ts";

interface Builder {
  set?: SetValue;
  entries: Map<string, { key: Value; child?: Builder; leaf?: Value }>;
}

/** The evaluator used by `CompiledPolicy.evaluate`. */
export class Evaluator extends Interpreter {
  #activeFns = new Set<RuleNode>();

  nodeValue(node: RuleNode): Value | undefined {
    const cache = this.state.cache;
    const c = cache.get(node);
    if (c === PENDING) {
      throw new RegoError("eval", `recursion detected when evaluating data.${node.path.join(".")}`);
    }
    if (c !== undefined || cache.has(node)) return c as Value | undefined;
    cache.set(node, PENDING);
    let v: Value | undefined;
    try {
      v = this.#compute(node);
    } catch (e) {
      cache.delete(node);
      throw e;
    }
    cache.set(node, v);
    return v;
  }

  #compute(node: RuleNode): Value | undefined {
    if (node.complete.length > 0) return this.#complete(node);
    if (node.functions.length > 0) {
      const f = node.functions[0]!;
      return f.args?.length === 0 ? this.#callNode(node, [], f) : undefined;
    }
    if (node.defaults.length > 0 && node.partial.length === 0) return this.#complete(node);
    const base = baseAt(this.data, node.path);
    const partial = node.partial.length > 0 ? this.#partial(node) : undefined;
    if (partial instanceof SetValue) return partial;
    if (node.children.size === 0 && !partial && !node.isPackage) return base;
    const out = new ObjectValue();
    if (base instanceof ObjectValue) { for (const [k, v] of base.entries()) out.set(k, v); }
    if (partial instanceof ObjectValue) {
      for (const [k, v] of partial.entries()) out.set(k, merge(out.get(k), v));
    }
    for (const [name, child] of node.children) {
      const cv = this.nodeValue(child);
      if (cv !== undefined) out.set(name, merge(out.get(name), cv));
    }
    // A node above rules is an object even when every rule below is undefined or a function
    // (regorus materializes `a` for `a.f(x) := …` as {}).
    return out;
  }

  #bodyValues(b: CompiledBody, onValue: (v: Value) => void, args?: Value[]): boolean {
    let produced = false;
    this.withEnv(() => {
      const run = () =>
        this.evalQuery(b.body, 0, () =>
          this.evalTerm(b.value, (v) => {
            produced = true;
            onValue(v);
            return b.ground;
          }));
      if (args) this.unifyItems(b.args!, args, 0, false, run);
      else run();
    });
    return produced;
  }

  #complete(node: RuleNode): Value | undefined {
    const values: Value[] = [];
    const add = (def: RuleDef) => (v: Value) => {
      if (values.some((x) => equal(x, v))) return;
      values.push(v);
      if (values.length > 1) {
        const msg = def.refLen > 1
          ? "rule conflicts with the following rule"
          : "rules should not produce multiple outputs";
        throw new RegoError(
          "conflict",
          `${def.file}:${def.line}:${def.col}: ${msg} (data.${node.path.join(".")})`,
        );
      }
    };
    for (const def of node.complete) {
      for (const b of def.bodies) if (this.#bodyValues(b, add(def))) break;
      if (values.length > 0 && node.sameConst) break;
    }
    if (values.length > 0) return values[0];
    return this.#default(node, undefined);
  }

  #default(node: RuleNode, arity: number | undefined): Value | undefined {
    for (const d of node.defaults) {
      if (arity !== undefined && d.args?.length !== arity) continue;
      let out: Value | undefined;
      this.withEnv(() =>
        this.evalTerm(d.bodies[0]!.value, (v) => {
          out = v;
          return true;
        })
      );
      return out;
    }
    return undefined;
  }

  #partial(node: RuleNode): Value {
    const root: Builder = { entries: new Map() };
    const isSet = node.partial.some((d) => d.kind === "set" && d.dyn.length === 0);
    if (isSet) root.set = new SetValue();
    for (const def of node.partial) {
      if (def.isDefault) continue;
      for (const b of def.bodies) {
        const produced = this.#partialBody(def, b, root);
        if (produced) break;
      }
    }
    for (const def of node.partial) {
      if (def.isDefault) this.#partialBody(def, def.bodies[0]!, root, true);
    }
    return build(root);
  }

  #partialBody(def: RuleDef, b: CompiledBody, root: Builder, onlyMissing = false): boolean {
    let produced = false;
    this.withEnv(() =>
      this.evalQuery(
        b.body,
        0,
        () =>
          this.evalList(b.dyn, 0, [], (keys) =>
            this.evalTerm(b.value, (v) => {
              produced = true;
              if (!onlyMissing || !has(root, keys)) this.#insert(def, root, keys, v);
              return b.ground;
            })),
      )
    );
    return produced;
  }

  #insert(def: RuleDef, root: Builder, keys: Value[], v: Value): void {
    let cur = root;
    const last = def.kind === "set" ? keys.length : keys.length - 1;
    for (let i = 0; i < last; i++) {
      const ck = canonical(keys[i]!);
      let e = cur.entries.get(ck);
      if (!e) {
        e = { key: keys[i]!, child: { entries: new Map() } };
        cur.entries.set(ck, e);
      }
      if (!e.child) this.#conflict(def);
      cur = e.child;
    }
    if (def.kind === "set") {
      if (cur.entries.size > 0) this.#conflict(def);
      (cur.set ??= new SetValue()).add(v);
      return;
    }
    const lk = keys[last]!;
    const ck = canonical(lk);
    const e = cur.entries.get(ck);
    if (e) {
      if (e.child || !equal(e.leaf!, v)) this.#conflict(def);
      return;
    }
    cur.entries.set(ck, { key: lk, leaf: v });
  }

  #conflict(def: RuleDef): never {
    throw new RegoError(
      "conflict",
      `${def.file}:${def.line}:${def.col}: rules must not produce multiple outputs (data.${
        def.path.join(".")
      })`,
    );
  }

  callUser(path: string, args: Value[], loc: Loc): Value | undefined {
    const node = nodeOfPath(this.compiled, path);
    const first = node?.functions[0] ?? node?.defaults.find((d) => d.args !== undefined);
    if (!node || !first) {
      if (node && args.length === 0) return this.nodeValue(node);
      this.fail(loc, `could not find function ${path}`);
    }
    return this.#callNode(node, args, first);
  }

  #callNode(node: RuleNode, args: Value[], first: RuleDef): Value | undefined {
    if (this.#activeFns.has(node)) {
      throw new RegoError("eval", `recursion detected when calling data.${node.path.join(".")}`);
    }
    this.#activeFns.add(node);
    try {
      const values: Value[] = [];
      let conflict: RegoError | undefined;
      const add = (v: Value) => {
        if (values.some((x) => equal(x, v))) return;
        values.push(v);
        if (values.length > 1) {
          const msg = args.length === 0
            ? "rules should not produce multiple outputs"
            : "functions must not produce multiple outputs for same inputs";
          throw conflict = new RegoError(
            "conflict",
            `${first.file}:${first.line}:${first.col}: ${msg}`,
          );
        }
      };
      // Without strict builtin errors, an error inside one definition is dropped when another
      // definition yields a value (regorus); it is raised when none does.
      let failure: RegoError | undefined;
      for (const def of node.functions) {
        if (def.args?.length !== args.length) continue;
        // Every definition yields the same constant: the first success decides (errors in
        // later definitions would be dropped anyway unless strict).
        if (values.length > 0 && node.fnSameConst && !this.strict) break;
        try {
          for (const b of def.bodies) if (this.#bodyValues(b, add, args)) break;
        } catch (e) {
          if (this.strict || e === conflict || !isDefinitionError(e)) throw e;
          failure ??= e;
        }
      }
      if (values.length > 0) return values[0];
      if (failure) throw failure;
      return this.#default(node, args.length);
    } finally {
      this.#activeFns.delete(node);
    }
  }
}

const fnNodes = new WeakMap<Compiled, Map<string, RuleNode | undefined>>();

/** Rule-tree node of a dotted `data.…` function path (cached per compiled policy). */
function nodeOfPath(compiled: Compiled, path: string): RuleNode | undefined {
  let cache = fnNodes.get(compiled);
  if (!cache) fnNodes.set(compiled, cache = new Map());
  if (cache.has(path)) return cache.get(path);
  let node: RuleNode | undefined = compiled.root;
  for (const p of path.split(".").slice(1)) node = node?.children.get(p);
  cache.set(path, node);
  return node;
}

/** Errors that make one function definition fail (not limits). */
function isDefinitionError(e: unknown): e is RegoError {
  return e instanceof RegoError && (e.code === "eval" || e.code === "conflict");
}

function has(root: Builder, keys: Value[]): boolean {
  let cur: Builder | undefined = root;
  for (const k of keys) {
    const e: Builder["entries"] extends Map<string, infer E> ? E | undefined : never = cur?.entries
      .get(canonical(k));
    if (!e) return false;
    cur = e.child;
  }
  return true;
}

function build(b: Builder): Value {
  if (b.set) return b.set;
  const o = new ObjectValue();
  for (const e of b.entries.values()) o.set(e.key, e.child ? build(e.child) : e.leaf!);
  return o;
}

function merge(a: Value | undefined, b: Value): Value {
  if (a instanceof ObjectValue && b instanceof ObjectValue) {
    const o = new ObjectValue(a.entries());
    for (const [k, v] of b.entries()) o.set(k, merge(o.get(k), v));
    return o;
  }
  return b;
}
