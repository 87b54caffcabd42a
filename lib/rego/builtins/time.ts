/** Time builtins (ns since epoch as numbers; exact through BigInt internally). Time zones:
 * "UTC", "" and "Local" (treated as UTC), IANA names via Intl. */

import type { Value } from "../value.ts";
import {
  type BuiltinContext,
  BuiltinError,
  type BuiltinTable,
  define,
  show,
  str,
} from "./_util.ts";
import { formatLayout, parseLayout } from "./time_layout.ts";

const NS = 1_000_000n;
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Offset of an IANA zone at an instant, in minutes. */
export function zoneOffset(tz: string, ms: number): number {
  if (tz === "" || tz === "UTC" || tz === "Local") return 0;
  let f: Intl.DateTimeFormat;
  try {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
  } catch {
    throw new BuiltinError(`unknown time zone ${tz}`);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const local = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!);
  return Math.round((local - Math.floor(ms / 1000) * 1000) / 60000);
}

/** Broken-down time in a zone. */
export interface Civil {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  ns: number;
  wd: number;
  yd: number;
  offMin: number;
  tz: string;
}

export function civil(ns: bigint, tz: string): Civil {
  const ms = Number(ns / NS) - (ns % NS < 0n ? 1 : 0);
  const sub = Number(((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n);
  if (!(Math.abs(ms) <= 8.64e15 - 86_400_000)) {
    throw new BuiltinError(`timestamp ${ns} ns is out of the supported range`);
  }
  const off = zoneOffset(tz, ms);
  const d = new Date(ms + off * 60000);
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  return {
    y: d.getUTCFullYear(),
    mo: d.getUTCMonth() + 1,
    d: d.getUTCDate(),
    h: d.getUTCHours(),
    mi: d.getUTCMinutes(),
    s: d.getUTCSeconds(),
    ns: sub,
    wd: d.getUTCDay(),
    yd: Math.floor(
      (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - start) / 86400000,
    ) + 1,
    offMin: off,
    tz: tz === "" ? "UTC" : tz,
  };
}

/** The integer a double was written as: ns values above 2^53 are taken at their shortest
 * decimal form (1703444325734390000 rather than the nearest double …016), as regorus keeps
 * integer literals exact. */
function exactNs(n: number): bigint {
  const t = Math.trunc(n);
  if (Number.isSafeInteger(t)) return BigInt(t);
  const [m, e] = String(t).split("e");
  if (e === undefined) return BigInt(m!);
  const [whole, frac = ""] = m!.split(".");
  const exp = Number(e) - frac.length;
  const digits = BigInt(whole! + frac);
  return exp >= 0 ? digits * 10n ** BigInt(exp) : digits / 10n ** BigInt(-exp);
}

/** Default `time.format` layout: RFC 3339 with 0, 3, 6 or 9 fraction digits, whichever
 * shows the value exactly (regorus uses chrono's `SecondsFormat::AutoSi`). */
function autoSiLayout(ns: bigint): string {
  const sub = ((ns % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  const frac = sub === 0n
    ? ""
    : sub % 1_000_000n === 0n
    ? ".000"
    : sub % 1000n === 0n
    ? ".000000"
    : ".000000000";
  return `2006-01-02T15:04:05${frac}Z07:00`;
}

function nsArg(name: string, v: Value | undefined): { ns: bigint; tz: string; layout?: string } {
  if (typeof v === "number") return { ns: exactNs(v), tz: "UTC" };
  if (Array.isArray(v) && v.length >= 1 && v.length <= 3) {
    const [n, tz, layout] = v as Value[];
    if (typeof n !== "number") {
      throw new BuiltinError(
        `\`${name}\` expects 1st element of \`ns\` to be a \`number\`. Got \`${show(n!)}\` instead`,
      );
    }
    if (tz !== undefined && typeof tz !== "string") {
      throw new BuiltinError(
        `\`${name}\` expects 2nd element of \`ns\` to be a \`string\`. Got \`${show(tz)}\` instead`,
      );
    }
    if (layout !== undefined && typeof layout !== "string") {
      throw new BuiltinError(
        `\`${name}\` expects 3rd element of \`ns\` to be a \`string\`. Got \`${
          show(layout)
        }\` instead`,
      );
    }
    const out: { ns: bigint; tz: string; layout?: string } = {
      ns: exactNs(n),
      tz: tz ?? "UTC",
    };
    if (layout !== undefined) out.layout = layout;
    return out;
  }
  throw new BuiltinError(
    `\`${name}\` expects \`ns\` to be a \`number\` or \`array[number, string]\`. Got \`${
      show(v ?? null)
    }\` instead`,
  );
}

const DUR_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  "µs": 1000n,
  "μs": 1000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go time.ParseDuration. */
export function parseDuration(s: string): bigint {
  let rest = s;
  let neg = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    neg = rest[0] === "-";
    rest = rest.slice(1);
  }
  if (rest === "0") return 0n;
  if (rest === "") throw new BuiltinError(`time: invalid duration ${JSON.stringify(s)}`);
  let total = 0n;
  const re = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
  while (rest.length > 0) {
    const m = re.exec(rest);
    if (!m || (m[1] === "" && (m[2] ?? "") === "")) {
      throw new BuiltinError(`time: invalid duration ${JSON.stringify(s)}`);
    }
    const unit = DUR_UNITS[m[3]!]!;
    total += BigInt(m[1] || "0") * unit;
    if (m[2]) total += (BigInt(m[2]) * unit) / 10n ** BigInt(m[2].length);
    rest = rest.slice(m[0].length);
  }
  return neg ? -total : total;
}

function toNs(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  s: number,
  sub: number,
  offMin: number,
): bigint {
  const dt = new Date(0);
  dt.setUTCFullYear(y, mo - 1, d);
  dt.setUTCHours(h, mi, s, 0);
  const ms = dt.getTime() - offMin * 60000;
  if (!Number.isFinite(ms)) throw new BuiltinError("time value out of range");
  return BigInt(ms) * NS + BigInt(sub);
}

export { toNs };

/** Registers time builtins. */
export function time(t: BuiltinTable): void {
  define(t, "time.now_ns", 0, (_a, ctx: BuiltinContext) => ctx.nowNs());
  define(t, "time.parse_rfc3339_ns", 1, ([v]) => {
    if (typeof v !== "string") {
      throw new BuiltinError(
        `\`time.parse_rfc3339_ns\` expects string argument. Got \`${show(v ?? null)}\` instead`,
      );
    }
    return Number(parseLayout("2006-01-02T15:04:05Z07:00", v));
  });
  define(t, "time.parse_ns", 2, ([l, v]) => {
    const layout = str("time.parse_ns", l);
    if (typeof v !== "string") {
      throw new BuiltinError(
        `\`time.parse_ns\` expects string argument. Got \`${show(v ?? null)}\` instead`,
      );
    }
    return Number(parseLayout(layout, v));
  });
  define(t, "time.parse_duration_ns", 1, ([v]) => {
    if (typeof v !== "string") {
      throw new BuiltinError(
        `\`time.parse_duration_ns\` expects string argument. Got \`${show(v ?? null)}\` instead`,
      );
    }
    return Number(parseDuration(v));
  });
  define(t, "time.date", 1, ([v]) => {
    const { ns, tz } = nsArg("time.date", v);
    const c = civil(ns, tz);
    return [c.y, c.mo, c.d];
  });
  define(t, "time.clock", 1, ([v]) => {
    const { ns, tz } = nsArg("time.clock", v);
    const c = civil(ns, tz);
    return [c.h, c.mi, c.s];
  });
  define(t, "time.weekday", 1, ([v]) => {
    const { ns, tz } = nsArg("time.weekday", v);
    return DAYS[civil(ns, tz).wd]!;
  });
  define(t, "time.add_date", 4, ([v, y, m, d]) => {
    const { ns, tz } = nsArg("time.add_date", v);
    for (const x of [y, m, d]) {
      if (typeof x !== "number") {
        throw new BuiltinError(
          `\`time.add_date\` expects numeric argument. Got \`${show(x ?? null)}\` instead`,
        );
      }
    }
    const c = civil(ns, tz);
    let r: bigint;
    try {
      r = toNs(
        c.y + (y as number),
        c.mo + (m as number),
        c.d + (d as number),
        c.h,
        c.mi,
        c.s,
        c.ns,
        c.offMin,
      );
    } catch {
      return undefined;
    }
    if (r > 9223372036854775807n || r < -9223372036854775808n) return undefined;
    return Number(r);
  });
  define(t, "time.diff", 2, ([a, b]) => {
    const x = nsArg("time.diff", a), y = nsArg("time.diff", b);
    let c1 = civil(x.ns, x.tz), c2 = civil(y.ns, x.tz);
    if (x.ns > y.ns) [c1, c2] = [c2, c1];
    let year = c2.y - c1.y, month = c2.mo - c1.mo, day = c2.d - c1.d;
    let hour = c2.h - c1.h, min = c2.mi - c1.mi, sec = c2.s - c1.s;
    if (sec < 0) {
      sec += 60;
      min--;
    }
    if (min < 0) {
      min += 60;
      hour--;
    }
    if (hour < 0) {
      hour += 24;
      day--;
    }
    if (day < 0) {
      day += 32 - new Date(Date.UTC(c1.y, c1.mo - 1, 32)).getUTCDate();
      month--;
    }
    if (month < 0) {
      month += 12;
      year--;
    }
    return [year, month, day, hour, min, sec];
  });
  define(t, "time.format", 1, ([v]) => {
    const { ns, tz, layout } = nsArg("time.format", v);
    return formatLayout(layout ?? autoSiLayout(ns), civil(ns, tz));
  });
}
