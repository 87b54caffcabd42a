/** A Go `fmt.Sprintf` subset for Rego's `sprintf`: flags `-+ #0`, width, precision, verbs
 * `v s d i f F e E g G x X o O b c q t T %`; `%o` / `%O` (0O / 0o prefix) and `%f` without a
 * precision follow regorus. */

import { typeName, type Value } from "../value.ts";
import { BuiltinError, show } from "./_util.ts";

function goValue(v: Value): string {
  if (typeof v === "string") return v;
  if (typeof v === "number") return fmtNumber(v);
  if (v === null) return "null";
  if (typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return "[" + v.map(showInner).join(", ") + "]";
  return show(v);
}

function showInner(v: Value): string {
  return show(v);
}

function fmtNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return BigInt(n).toString();
  return String(n);
}

function pad(s: string, width: number, left: boolean, zero: boolean): string {
  if (s.length >= width) return s;
  if (left) return s + " ".repeat(width - s.length);
  if (zero) {
    const sign = s[0] === "-" || s[0] === "+" ? s[0] : "";
    const body = sign ? s.slice(1) : s;
    return sign + "0".repeat(width - s.length) + body;
  }
  return " ".repeat(width - s.length) + s;
}

/** Formats `args` per `fmt`. */
export function sprintf(fmt: string, args: Value[]): string {
  let out = "";
  let argi = 0;
  const re = /%([-+ #0]*)(\d+|\*)?(?:\.(\d+))?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(fmt); m; m = re.exec(fmt)) {
    out += fmt.slice(last, m.index);
    last = re.lastIndex;
    const [, flags = "", w, p, verb] = m;
    if (verb === "%") {
      out += "%";
      continue;
    }
    if (argi >= args.length) {
      throw new BuiltinError(`no argument specified for format verb ${argi}`);
    }
    const a = args[argi++]!;
    const width = w ? Number(w) : 0;
    const prec = p === undefined ? undefined : Number(p);
    const plus = flags.includes("+");
    let s: string;
    switch (verb) {
      case "v":
      case "s":
        s = goValue(a);
        if (prec !== undefined) s = s.slice(0, prec);
        break;
      case "q":
        s = typeof a === "string" ? JSON.stringify(a) : goValue(a);
        break;
      case "t":
        s = goValue(a);
        break;
      case "T":
        s = typeName(a);
        break;
      case "d":
      case "i":
        s = typeof a === "number" && Number.isInteger(a)
          ? fmtNumber(a)
          : `%!d(${typeName(a)}=${goValue(a)})`;
        if (plus && typeof a === "number" && a >= 0) s = "+" + s;
        break;
      case "f":
      case "F":
        // Without a precision regorus prints the number as is (3.14, not Go's 3.140000).
        s = typeof a === "number"
          ? (prec === undefined ? fmtNumber(a) : a.toFixed(prec))
          : `%!f(${typeName(a)}=${goValue(a)})`;
        if (plus && typeof a === "number" && a >= 0) s = "+" + s;
        break;
      case "e":
      case "E": {
        s = typeof a === "number" ? goExp(a, prec ?? 6) : `%!e(${goValue(a)})`;
        if (verb === "E") s = s.toUpperCase();
        break;
      }
      case "g":
      case "G":
        s = typeof a === "number"
          ? (prec !== undefined ? String(Number(a.toPrecision(prec))) : String(a))
          : goValue(a);
        break;
      case "O":
        s = typeof a === "number" && Number.isInteger(a)
          ? (a < 0 ? "-0o" : "0o") + BigInt(Math.abs(a)).toString(8)
          : `%!O(${goValue(a)})`;
        break;
      case "x":
      case "X":
      case "o":
      case "b": {
        const base = verb === "o" ? 8 : verb === "b" ? 2 : 16;
        if (typeof a === "number" && Number.isInteger(a)) s = BigInt(a).toString(base);
        else if (typeof a === "string" && base === 16) {
          s = [...new TextEncoder().encode(a)].map((b) => b.toString(16).padStart(2, "0")).join("");
        } else s = `%!${verb}(${goValue(a)})`;
        if (flags.includes("#") && base === 16) s = "0x" + s;
        // regorus prefixes octal: `%o` → 0O100, `%O` → 0o100.
        if (verb === "o" && typeof a === "number" && Number.isInteger(a)) {
          s = a < 0 ? "-0O" + s.slice(1) : "0O" + s;
        }
        if (verb === "X") s = s.toUpperCase();
        break;
      }
      case "c":
        s = typeof a === "number" ? String.fromCodePoint(a) : goValue(a);
        break;
      default:
        s = `%!${verb}(${goValue(a)})`;
    }
    out += pad(s, width, flags.includes("-"), flags.includes("0") && verb !== "s");
  }
  out += fmt.slice(last);
  if (argi < args.length) {
    out += "%!(EXTRA " + args.slice(argi).map((a) => `${typeName(a)}=${goValue(a)}`).join(", ") +
      ")";
  }
  return out;
}

function goExp(n: number, prec: number): string {
  const s = n.toExponential(prec);
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}
