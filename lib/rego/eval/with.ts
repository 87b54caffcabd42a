/** `with` modifiers: a literal runs under a copy of the `with` state (input, data and function
 * replacements, and a fresh rule cache); its continuation runs under the outer state again. */

import type { Literal, With } from "../ast.ts";
import type { RuleNode } from "../compiler.ts";
import type { Value } from "../value.ts";
import type { FnOverride, K, WithState } from "./machine.ts";
import { setPath } from "./paths.ts";
import { TermEvaluator } from "./terms.ts";

/** `with` layer of the interpreter (see machine.ts). */
export abstract class WithScope extends TermEvaluator {
  /** Evaluates a literal ignoring its `with` modifiers (interpreter.ts). */
  abstract literalCore(l: Literal, k: K): boolean;

  withLiteral(l: Literal & { withs: With[] }, k: K): boolean {
    const outer = this.state;
    const inner: WithState = {
      input: outer.input,
      dataOverrides: [...outer.dataOverrides],
      fnOverrides: new Map(outer.fnOverrides),
      cache: new Map(),
    };
    for (const w of l.withs) this.applyWith(w, inner);
    this.state = inner;
    try {
      return this.literalCore(l, () => {
        this.state = outer;
        try {
          return k();
        } finally {
          this.state = inner;
        }
      });
    } finally {
      this.state = outer;
    }
  }

  applyWith(w: With, st: WithState): void {
    const r = w.resolved!;
    let value: Value | undefined;
    if (!w.valueFn) {
      this.evalTerm(w.value, (v) => {
        value = v;
        return true;
      });
      if (value === undefined) this.fail(w.value.loc, "`with` value is undefined");
    }
    const repl: FnOverride = w.valueFn ? { fn: w.valueFn } : { value: value! };
    switch (r.kind) {
      case "fn":
        st.fnOverrides.set(r.name, repl);
        return;
      case "input":
        if (value === undefined) this.fail(w.value.loc, "invalid `with` value for input");
        st.input = r.path.length === 0 ? value : setPath(st.input, r.path, value);
        return;
      case "data": {
        const fnPath = ["data", ...r.path].join(".");
        if (w.valueFn || this.isFunctionPath(r.path)) {
          st.fnOverrides.set(fnPath, repl);
          return;
        }
        st.dataOverrides.push({ path: r.path, value: value! });
        return;
      }
    }
  }

  isFunctionPath(path: string[]): boolean {
    let n: RuleNode | undefined = this.compiled.root;
    for (const p of path) n = n?.children.get(p);
    return n !== undefined && n.functions.length > 0;
  }
}
