/** Go time layouts ("2006-01-02T15:04:05Z07:00") for time.format and time.parse_ns. */

import { BuiltinError } from "./_util.ts";
import { type Civil, toNs } from "./time.ts";

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const TOKENS = [
  "January",
  "Monday",
  "Z07:00:00",
  "-07:00:00",
  "Z07:00",
  "-07:00",
  "Z0700",
  "-0700",
  "2006",
  "Jan",
  "Mon",
  "MST",
  "002",
  "Z07",
  "-07",
  "01",
  "02",
  "_2",
  "06",
  "15",
  "03",
  "04",
  "05",
  "PM",
  "pm",
  "1",
  "2",
  "3",
  "4",
  "5",
];

type Tok = { lit: string } | { tok: string } | { frac: string };

function lex(layout: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let lit = "";
  const flush = () => {
    if (lit) out.push({ lit });
    lit = "";
  };
  while (i < layout.length) {
    const fm = /^[.,](0+|9+)(?!\d)/.exec(layout.slice(i));
    if (
      fm && (i === 0 || /[0-9]/.test(layout[i - 1]!) || true) && /^(05|5)$/.test(prevTok(out, lit))
    ) {
      flush();
      out.push({ frac: fm[0] });
      i += fm[0].length;
      continue;
    }
    const t = TOKENS.find((x) => layout.startsWith(x, i));
    if (t) {
      flush();
      out.push({ tok: t });
      i += t.length;
      continue;
    }
    lit += layout[i];
    i++;
  }
  flush();
  return out;
}

function prevTok(out: Tok[], lit: string): string {
  if (lit) return "";
  const last = out[out.length - 1];
  return last && "tok" in last ? last.tok : "";
}

const p2 = (n: number) => String(n).padStart(2, "0");

function offset(off: number, sep: boolean, z: boolean, short = false): string {
  if (z && off === 0) return "Z";
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  const h = p2(Math.floor(a / 60)), m = p2(a % 60);
  if (short) return sign + h;
  return sign + h + (sep ? ":" : "") + m;
}

/** Formats a civil time with a Go layout. */
export function formatLayout(layout: string, c: Civil): string {
  let out = "";
  for (const t of lex(layout)) {
    if ("lit" in t) {
      out += t.lit;
      continue;
    }
    if ("frac" in t) {
      const digits = String(c.ns).padStart(9, "0");
      if (t.frac[1] === "0") out += t.frac[0] + digits.slice(0, t.frac.length - 1);
      else {
        const d = digits.slice(0, t.frac.length - 1).replace(/0+$/, "");
        if (d) out += t.frac[0] + d;
      }
      continue;
    }
    const h12 = c.h % 12 === 0 ? 12 : c.h % 12;
    switch (t.tok) {
      case "January":
        out += MONTHS[c.mo - 1];
        break;
      case "Jan":
        out += MONTHS[c.mo - 1]!.slice(0, 3);
        break;
      case "Monday":
        out += DAYS[c.wd];
        break;
      case "Mon":
        out += DAYS[c.wd]!.slice(0, 3);
        break;
      case "MST":
        out += c.offMin === 0 ? "UTC" : offset(c.offMin, false, false);
        break;
      case "2006":
        out += String(c.y).padStart(4, "0");
        break;
      case "06":
        out += p2(c.y % 100);
        break;
      case "01":
        out += p2(c.mo);
        break;
      case "1":
        out += c.mo;
        break;
      case "02":
        out += p2(c.d);
        break;
      case "_2":
        out += String(c.d).padStart(2, " ");
        break;
      case "2":
        out += c.d;
        break;
      case "002":
        out += String(c.yd).padStart(3, "0");
        break;
      case "15":
        out += p2(c.h);
        break;
      case "03":
        out += p2(h12);
        break;
      case "3":
        out += h12;
        break;
      case "04":
        out += p2(c.mi);
        break;
      case "4":
        out += c.mi;
        break;
      case "05":
        out += p2(c.s);
        break;
      case "5":
        out += c.s;
        break;
      case "PM":
        out += c.h >= 12 ? "PM" : "AM";
        break;
      case "pm":
        out += c.h >= 12 ? "pm" : "am";
        break;
      case "Z07:00":
      case "Z07:00:00":
        out += offset(c.offMin, true, true);
        break;
      case "-07:00":
      case "-07:00:00":
        out += offset(c.offMin, true, false);
        break;
      case "Z0700":
        out += offset(c.offMin, false, true);
        break;
      case "-0700":
        out += offset(c.offMin, false, false);
        break;
      case "Z07":
        out += offset(c.offMin, false, true, true);
        break;
      case "-07":
        out += offset(c.offMin, false, false, true);
        break;
    }
  }
  return out;
}

const esc = (s: string) => s.replace(/[\\^$.*+?()[\]{}|\-]/g, "\\$&");

/** Parses `value` with a Go layout; returns ns since epoch. */
export function parseLayout(layout: string, value: string): bigint {
  const toks = lex(layout);
  let src = "";
  const kinds: string[] = [];
  for (const t of toks) {
    if ("lit" in t) {
      src += esc(t.lit);
      continue;
    }
    if ("frac" in t) {
      src += "(?:[.,](\\d+))?";
      kinds.push("frac");
      continue;
    }
    kinds.push(t.tok);
    switch (t.tok) {
      case "January":
        src += `(${MONTHS.join("|")})`;
        break;
      case "Jan":
        src += `(${MONTHS.map((m) => m.slice(0, 3)).join("|")})`;
        break;
      case "Monday":
        src += `(${DAYS.join("|")})`;
        break;
      case "Mon":
        src += `(${DAYS.map((m) => m.slice(0, 3)).join("|")})`;
        break;
      case "MST":
        src += "([A-Z]{3,5})";
        break;
      case "2006":
        src += "(\\d{4})";
        break;
      case "002":
        src += "(\\d{3})";
        break;
      case "_2":
        src += " ?(\\d{1,2})";
        break;
      case "PM":
      case "pm":
        src += "(AM|PM|am|pm)";
        break;
      case "Z07:00":
      case "Z07:00:00":
      case "Z0700":
      case "Z07":
        src += "(Z|[+-]\\d{2}(?::?\\d{2})?(?::?\\d{2})?)";
        break;
      case "-07:00":
      case "-07:00:00":
      case "-0700":
      case "-07":
        src += "([+-]\\d{2}(?::?\\d{2})?(?::?\\d{2})?)";
        break;
      default:
        src += t.tok.length === 2 ? "(\\d{2})" : "(\\d{1,2})";
    }
    if ((t.tok === "05" || t.tok === "5") && !toks.some((x) => "frac" in x)) {
      // Go accepts fractional seconds after a seconds field even if the layout has none.
      src += "(?:[.,](\\d+))?";
      kinds.push("frac");
    }
  }
  const m = new RegExp(`^${src}$`).exec(value);
  if (!m) {
    throw new BuiltinError(`cannot parse ${JSON.stringify(value)} as ${JSON.stringify(layout)}`);
  }
  let y = 1, mo = 1, d = 1, h = 0, mi = 0, s = 0, sub = 0, off = 0, pm: boolean | undefined;
  kinds.forEach((k, i) => {
    const g = m[i + 1];
    if (g === undefined) return;
    switch (k) {
      case "frac":
        sub = Number(g.slice(0, 9).padEnd(9, "0"));
        break;
      case "January":
        mo = MONTHS.indexOf(g) + 1;
        break;
      case "Jan":
        mo = MONTHS.findIndex((x) => x.startsWith(g)) + 1;
        break;
      case "2006":
        y = Number(g);
        break;
      case "06":
        y = Number(g) + (Number(g) >= 69 ? 1900 : 2000);
        break;
      case "01":
      case "1":
        mo = Number(g);
        break;
      case "02":
      case "_2":
      case "2":
        d = Number(g);
        break;
      case "15":
      case "03":
      case "3":
        h = Number(g);
        break;
      case "04":
      case "4":
        mi = Number(g);
        break;
      case "05":
      case "5":
        s = Number(g);
        break;
      case "PM":
      case "pm":
        pm = g.toUpperCase() === "PM";
        break;
      default:
        if (k.includes("07")) {
          if (g !== "Z") {
            const digits = g.slice(1).replaceAll(":", "");
            off = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || "0")) *
              (g[0] === "-" ? -1 : 1);
          }
        }
    }
  });
  if (pm !== undefined) h = (h % 12) + (pm ? 12 : 0);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
    throw new BuiltinError(`cannot parse ${JSON.stringify(value)}: value out of range`);
  }
  return toNs(y, mo, d, h, mi, s, sub, off);
}
