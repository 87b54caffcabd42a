/**
 * Regular expressions and glob. Patterns are Go RE2 syntax evaluated with JS RegExp (no `u`
 * flag); RE2 features without a JS equivalent are translated (`(?i)` prefix flags, `\z`,
 * `(?P<name>`), and constructs RE2 rejects (lookaround, backreferences) are rejected too, so
 * a policy cannot trigger catastrophic backtracking through them.
 */

import { BuiltinError, type BuiltinTable, define, int, str } from "./_util.ts";

const cache = new Map<string, RegExp>();
const MAX_CACHE = 512;

/** Compiles an RE2-style pattern (global flag for find/replace). */
export function compileRegex(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (re) return re;
  if (/\(\?[=!<]|\\[1-9]|\(\?<[=!]/.test(pattern.replace(/\(\?P?<[A-Za-z_]\w*>/g, "("))) {
    throw new BuiltinError(
      `invalid regular expression ${
        JSON.stringify(pattern)
      }: lookaround and backreferences are not supported`,
    );
  }
  let flags = "g";
  let src = pattern;
  const m = /^\(\?([imsU]+)\)/.exec(src);
  if (m) {
    src = src.slice(m[0].length);
    if (m[1]!.includes("i")) flags += "i";
    if (m[1]!.includes("m")) flags += "m";
    if (m[1]!.includes("s")) flags += "s";
  }
  src = src.replaceAll("(?P<", "(?<").replaceAll("\\z", "$");
  try {
    re = new RegExp(src, flags);
  } catch (e) {
    throw new BuiltinError(
      `invalid regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`,
    );
  }
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(pattern, re);
  return re;
}

function test(re: RegExp, s: string): boolean {
  re.lastIndex = 0;
  return re.test(s);
}

function findAll(re: RegExp, s: string, n: number): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(s); m && (n < 0 || out.length < n); m = re.exec(s)) {
    out.push(m);
    if (m[0] === "") re.lastIndex++;
  }
  return out;
}

/** Converts a glob to a RegExp (`*` and `?` stop at delimiters, `**` crosses them). */
function globRegex(pattern: string, delims: string[]): RegExp {
  const d = delims.map((c) => c.replace(/[\\^$.*+?()[\]{}|\-]/g, "\\$&")).join("");
  const notDelim = d ? `[^${d}]` : ".";
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        out += ".*";
        i++;
      } else out += `${notDelim}*`;
    } else if (c === "?") out += notDelim;
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) throw new BuiltinError("`glob.match` unterminated character class");
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith("!")) cls = "^" + cls.slice(1);
      out += `[${cls}]`;
      i = end;
    } else if (c === "{") {
      const end = pattern.indexOf("}", i + 1);
      if (end < 0) throw new BuiltinError("`glob.match` unterminated alternation");
      out += "(?:" + pattern.slice(i + 1, end).split(",").map((a) =>
        globRegex(a, delims).source.slice(1, -1)
      ).join("|") + ")";
      i = end;
    } else if (c === "\\" && i + 1 < pattern.length) {
      out += pattern[++i]!.replace(/[\\^$.*+?()[\]{}|\-]/g, "\\$&");
    } else out += c.replace(/[\\^$.*+?()[\]{}|\-]/g, "\\$&");
  }
  return new RegExp(`^${out}$`, "s");
}

/** Registers regex and glob builtins. */
export function regex(t: BuiltinTable): void {
  define(
    t,
    "regex.match",
    2,
    ([p, s]) => test(compileRegex(str("regex.match", p)), str("regex.match", s)),
  );
  define(t, "regex.is_valid", 1, ([p]) => {
    if (typeof p !== "string") return false;
    try {
      compileRegex(p);
      return true;
    } catch {
      return false;
    }
  });
  define(
    t,
    "regex.split",
    2,
    ([p, s]) => str("regex.split", s).split(compileRegex(str("regex.split", p))),
  );
  define(t, "regex.replace", 3, ([s, p, r]) => {
    const re = compileRegex(str("regex.replace", p));
    re.lastIndex = 0;
    return str("regex.replace", s).replace(
      re,
      str("regex.replace", r).replace(/\$\{?(\w+)\}?/g, "$$<$1>").replace(/\$<(\d+)>/g, "$$$1"),
    );
  });
  define(
    t,
    "regex.find_n",
    3,
    ([p, s, n]) =>
      findAll(compileRegex(str("regex.find_n", p)), str("regex.find_n", s), int("regex.find_n", n))
        .map((m) => m[0]),
  );
  define(t, "regex.find_all_string_submatch_n", 3, ([p, s, n]) =>
    findAll(
      compileRegex(str("regex.find_all_string_submatch_n", p)),
      str("regex.find_all_string_submatch_n", s),
      int("regex.find_all_string_submatch_n", n),
    ).map((m) => [...m].map((g) => g ?? "")));
  define(t, "regex.template_match", 4, ([tpl, s, ds, de]) => {
    const template = str("regex.template_match", tpl);
    const open = str("regex.template_match", ds), close = str("regex.template_match", de);
    let src = "";
    let i = 0;
    while (i < template.length) {
      const a = template.indexOf(open, i);
      if (a < 0) {
        src += template.slice(i).replace(/[\\^$.*+?()[\]{}|\-]/g, "\\$&");
        break;
      }
      const b = template.indexOf(close, a + open.length);
      if (b < 0) throw new BuiltinError("`regex.template_match` unbalanced delimiters");
      src += template.slice(i, a).replace(/[\\^$.*+?()[\]{}|\-]/g, "\\$&");
      src += "(?:" + template.slice(a + open.length, b) + ")";
      i = b + close.length;
    }
    return test(compileRegex(`^${src}$`), str("regex.template_match", s));
  });
  define(t, "regex.globs_match", 2, () => {
    throw new BuiltinError("`regex.globs_match` is not supported");
  });
  define(t, "glob.match", 3, ([p, d, s]) => {
    const pattern = str("glob.match", p);
    let delims: string[];
    // null: no delimiters at all (regorus); an empty array: the default ".".
    if (d === null) delims = [];
    else if (Array.isArray(d)) delims = d.map((x) => str("glob.match", x));
    else throw new BuiltinError("`glob.match` expects array of delimiters or null");
    if (Array.isArray(d) && d.length === 0) delims = ["."];
    return globRegex(pattern, delims).test(str("glob.match", s));
  });
  define(
    t,
    "glob.quote_meta",
    1,
    ([s]) => str("glob.quote_meta", s).replace(/[*?\\[\]{}]/g, "\\$&"),
  );
}
