/** String builtins. Indices and lengths count Unicode code points, as OPA does. */

import { SetValue, type Value } from "../value.ts";
import { BuiltinError, type BuiltinTable, define, int, num, obj, show } from "./_util.ts";
import { sprintf } from "./sprintf.ts";

function sstr(name: string, v: Value | undefined): string {
  if (typeof v !== "string") {
    throw new BuiltinError(
      `\`${name}\` expects string argument. Got \`${show(v ?? null)}\` instead`,
    );
  }
  return v;
}

function trimSet(s: string, cut: string, left: boolean, right: boolean): string {
  const cs = new Set([...cut]);
  const cps = [...s];
  let a = 0, b = cps.length;
  if (left) { while (a < b && cs.has(cps[a]!)) a++; }
  if (right) { while (b > a && cs.has(cps[b - 1]!)) b--; }
  return cps.slice(a, b).join("");
}

function indexOfCp(s: string, sub: string, from = 0): number {
  if (sub === "") return -1;
  const i = s.indexOf(sub, from);
  return i < 0 ? -1 : [...s.slice(0, i)].length;
}

/** Registers string builtins. */
export function strings(t: BuiltinTable): void {
  define(t, "concat", 2, ([d, c]) => {
    const delim = sstr("concat", d);
    let xs: readonly Value[];
    if (Array.isArray(c)) xs = c;
    else if (c instanceof SetValue) xs = c.values();
    else throw new BuiltinError("`concat` expects array/set of strings.");
    return xs.map((x) => {
      if (typeof x !== "string") throw new BuiltinError("`concat` expects array/set of strings.");
      return x;
    }).join(delim);
  });
  define(t, "contains", 2, ([a, b]) => sstr("contains", a).includes(sstr("contains", b)));
  define(t, "startswith", 2, ([a, b]) => sstr("startswith", a).startsWith(sstr("startswith", b)));
  define(t, "endswith", 2, ([a, b]) => sstr("endswith", a).endsWith(sstr("endswith", b)));
  define(t, "lower", 1, ([a]) => sstr("lower", a).toLowerCase());
  define(t, "upper", 1, ([a]) => sstr("upper", a).toUpperCase());
  define(t, "indexof", 2, ([a, b]) => indexOfCp(sstr("indexof", a), sstr("indexof", b)));
  define(t, "indexof_n", 2, ([a, b]) => {
    const s = sstr("indexof_n", a), sub = sstr("indexof_n", b);
    const out: number[] = [];
    if (sub === "") return out;
    for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) {
      out.push([...s.slice(0, i)].length);
    }
    return out;
  });
  define(
    t,
    "replace",
    3,
    ([s, o, n]) => sstr("replace", s).split(sstr("replace", o)).join(sstr("replace", n)),
  );
  define(t, "split", 2, ([s, d]) => {
    const x = sstr("split", s), delim = sstr("split", d);
    return delim === "" ? [...x] : x.split(delim);
  });
  define(t, "substring", 3, ([s, st, ln]) => {
    const cps = [...sstr("substring", s)];
    const start = int("substring", st), len = int("substring", ln);
    if (start < 0) throw new BuiltinError("`substring` expects non-negative offset");
    if (start >= cps.length) return "";
    return (len < 0 ? cps.slice(start) : cps.slice(start, start + len)).join("");
  });
  define(t, "trim", 2, ([s, c]) => trimSet(sstr("trim", s), sstr("trim", c), true, true));
  define(
    t,
    "trim_left",
    2,
    ([s, c]) => trimSet(sstr("trim_left", s), sstr("trim_left", c), true, false),
  );
  define(
    t,
    "trim_right",
    2,
    ([s, c]) => trimSet(sstr("trim_right", s), sstr("trim_right", c), false, true),
  );
  define(t, "trim_prefix", 2, ([s, p]) => {
    const x = sstr("trim_prefix", s), pre = sstr("trim_prefix", p);
    return x.startsWith(pre) ? x.slice(pre.length) : x;
  });
  define(t, "trim_suffix", 2, ([s, p]) => {
    const x = sstr("trim_suffix", s), suf = sstr("trim_suffix", p);
    return suf !== "" && x.endsWith(suf) ? x.slice(0, x.length - suf.length) : x;
  });
  define(t, "trim_space", 1, ([s]) => sstr("trim_space", s).trim());
  define(t, "strings.reverse", 1, ([s]) => [...sstr("strings.reverse", s)].reverse().join(""));
  define(t, "strings.count", 2, ([s, sub]) => {
    const x = sstr("strings.count", s), y = sstr("strings.count", sub);
    if (y === "") return [...x].length + 1;
    return x.split(y).length - 1;
  });
  const anyMatch = (name: string, f: (s: string, p: string) => boolean) =>
    define(t, name, 2, ([a, b]) => {
      const list = (v: Value | undefined): string[] => {
        if (typeof v === "string") return [v];
        const xs = Array.isArray(v) ? v : v instanceof SetValue ? v.values() : undefined;
        if (!xs) throw new BuiltinError(`\`${name}\` expects string, array or set argument`);
        return xs.map((x) => sstr(name, x));
      };
      const ss = list(a), ps = list(b);
      return ss.some((s) => ps.some((p) => f(s, p)));
    });
  anyMatch("strings.any_prefix_match", (s, p) => s.startsWith(p));
  anyMatch("strings.any_suffix_match", (s, p) => s.endsWith(p));
  define(t, "strings.replace_n", 2, ([p, s]) => {
    const patterns = obj("strings.replace_n", p);
    const x = sstr("strings.replace_n", s);
    const pairs: [string, string][] = [];
    for (const [k, v] of patterns.entries()) {
      pairs.push([sstr("strings.replace_n", k), sstr("strings.replace_n", v)]);
    }
    let out = "";
    let i = 0;
    outer: while (i < x.length) {
      for (const [k, v] of pairs) {
        if (k !== "" && x.startsWith(k, i)) {
          out += v;
          i += k.length;
          continue outer;
        }
      }
      out += x[i];
      i++;
    }
    return out;
  });
  define(t, "format_int", 2, ([n, b]) => {
    const x = num("format_int", n), base = num("format_int", b);
    if (![2, 8, 10, 16].includes(base)) {
      throw new BuiltinError("`format_int` expects base to be one of 2, 8, 10, 16");
    }
    const i = Math.trunc(x);
    return Number.isSafeInteger(i) ? i.toString(base) : BigInt(i).toString(base);
  });
  define(t, "sprintf", 2, ([f, a]) => {
    const fmt = sstr("sprintf", f);
    if (!Array.isArray(a)) {
      throw new BuiltinError(
        `\`sprintf\` expects array argument. Got \`${show(a ?? null)}\` instead`,
      );
    }
    return sprintf(fmt, a as Value[]);
  });
  define(t, "strings.render_template", 2, ([tpl, vars]) => {
    const s = sstr("strings.render_template", tpl), o = obj("strings.render_template", vars);
    return s.replace(/\{\{\s*\.?([A-Za-z0-9_]+)\s*\}\}/g, (_m, k: string) => {
      const v = o.get(k);
      return v === undefined ? "<no value>" : typeof v === "string" ? v : show(v);
    });
  });
}
