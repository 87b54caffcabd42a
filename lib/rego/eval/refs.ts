/**
 * References: walking a value along a path (binding unbound variables by iteration), and the
 * virtual document `data.…`, which walks the rule tree while segments are known keys so that
 * only the rules actually referenced are evaluated, then merges base data, rule values and
 * `with` overrides.
 */

import type { Loc, Term } from "../ast.ts";
import type { RuleNode } from "../compiler.ts";
import type { Value } from "../value.ts";
import type { VK } from "./machine.ts";
import { baseAt, index, setPath } from "./paths.ts";
import { hasUnbound, Unifier } from "./unify.ts";

/** Reference and virtual-document layer of the interpreter (see machine.ts). */
export abstract class RefEvaluator extends Unifier {
  evalRef(t: Term & { t: "ref" }, k: VK): boolean {
    const h = t.head;
    if (h.t === "var" && h.global && h.name === "data") return this.evalDataRef(t, k);
    return this.evalTerm(h, (hv) => this.walkPath(hv, t.path, 0, k));
  }

  walkPath(v: Value, path: Term[], i: number, k: VK): boolean {
    if (i === path.length) return k(v);
    const seg = path[i]!;
    if (seg.t === "var" && !seg.global && this.env.get(seg.name) === undefined) {
      return this.iterate(
        v,
        (key, val) => this.bind(seg.name, key, () => this.walkPath(val, path, i + 1, k)),
      );
    }
    if (seg.t === "scalar") {
      const nv = index(v, seg.v);
      return nv === undefined ? false : this.walkPath(nv, path, i + 1, k);
    }
    if ((seg.t === "array" || seg.t === "object") && hasUnbound(seg, this.env)) {
      return this.iterate(
        v,
        (key, val) => this.unifyValue(seg, key, false, () => this.walkPath(val, path, i + 1, k)),
      );
    }
    return this.evalTerm(seg, (key) => {
      const nv = index(v, key);
      return nv === undefined ? false : this.walkPath(nv, path, i + 1, k);
    });
  }

  /** `data.…` reference: walks the rule tree while segments are known keys, so that only
   * the rules actually referenced are evaluated. */
  evalDataRef(t: Term & { t: "ref" }, k: VK): boolean {
    return this.descend(this.compiled.root, [], t.path, 0, t.loc, k);
  }

  descend(node: RuleNode, keys: string[], path: Term[], i: number, loc: Loc, k: VK): boolean {
    const ownRules = node.complete.length > 0 || node.partial.length > 0 ||
      node.functions.length > 0 || node.defaults.length > 0;
    if (i === path.length || ownRules) {
      const v = this.dataPath(keys, 0, loc, node);
      return v === undefined ? false : this.walkPath(v, path, i, k);
    }
    const seg = path[i]!;
    if (seg.t === "var" && !seg.global && this.env.get(seg.name) === undefined) {
      const v = this.dataPath(keys, 0, loc, node);
      return v === undefined ? false : this.walkPath(v, path, i, k);
    }
    if (seg.t === "scalar") return this.descendKey(node, keys, seg.v, path, i, loc, k);
    return this.evalTerm(seg, (key) => this.descendKey(node, keys, key, path, i, loc, k));
  }

  /** `descend` one segment with key `key`; `keys` is extended in place for the call. */
  descendKey(
    node: RuleNode,
    keys: string[],
    key: Value,
    path: Term[],
    i: number,
    loc: Loc,
    k: VK,
  ): boolean {
    const skey = typeof key === "number" ? String(key) : key;
    if (typeof skey !== "string") return false;
    const child = node.children.get(skey);
    keys.push(skey);
    try {
      if (child) return this.descend(child, keys, path, i + 1, loc, k);
      const v = this.dataPath(keys, 0, loc, undefined, true);
      return v === undefined ? false : this.walkPath(v, path, i + 1, k);
    } finally {
      keys.pop();
    }
  }

  /** Value of `data` at `keys` (rules, base data, and `with` overrides). */
  dataPath(
    keys: string[],
    _from: number,
    _loc: Loc,
    node?: RuleNode,
    baseOnly = false,
  ): Value | undefined {
    const ov = this.state.dataOverrides;
    for (let j = ov.length - 1; j >= 0; j--) {
      const o = ov[j]!;
      if (o.path.length <= keys.length && o.path.every((p, x) => p === keys[x])) {
        let v: Value | undefined = o.value;
        for (const key of keys.slice(o.path.length)) {
          v = v === undefined ? undefined : index(v, key);
        }
        return v;
      }
    }
    let n = node;
    if (!n && !baseOnly) {
      n = this.compiled.root;
      for (const key of keys) n = n?.children.get(key);
    }
    let v: Value | undefined;
    if (n && (n.complete.length > 0 || n.functions.length > 0) && keys.length > 0) {
      // Base data wins over a rule at the same path (regorus behaviour).
      v = baseAt(this.data, keys);
    }
    if (v === undefined) v = n ? this.nodeValue(n) : baseAt(this.data, keys);
    if (v === undefined) return undefined;
    for (const o of ov) {
      if (o.path.length > keys.length && keys.every((p, x) => p === o.path[x])) {
        v = setPath(v, o.path.slice(keys.length), o.value);
      }
    }
    return v;
  }
}
