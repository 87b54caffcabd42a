/** Numeric builtins: arithmetic by name, rounding, ranges, random, conversion, bits. */

import { createHash } from "node:crypto";
import { arith } from "../eval/ops.ts";
import type { Value } from "../value.ts";
import { BuiltinError, type BuiltinTable, define, int, num, show } from "./_util.ts";

function toBig(name: string, v: Value | undefined): bigint {
  const n = num(name, v);
  if (!Number.isInteger(n)) {
    throw new BuiltinError(`\`${name}\` expects integer argument. Got \`${n}\` instead`);
  }
  return BigInt(n);
}

/** Go's math.Round: half away from zero. */
function roundHalfAway(n: number): number {
  return n < 0 ? -Math.round(-n) : Math.round(n);
}

function range(name: string, a: number, b: number, step: number): Value[] {
  const out: number[] = [];
  if (Math.abs(b - a) / step > 10_000_000) throw new BuiltinError(`\`${name}\` range too large`);
  if (a <= b) { for (let i = a; i <= b; i += step) out.push(i); }
  else for (let i = a; i >= b; i -= step) out.push(i);
  return out;
}

/** Registers numeric builtins. */
export function numbers(t: BuiltinTable): void {
  define(t, "plus", 2, ([a, b]) => arith("+", a!, b!));
  define(t, "minus", 2, ([a, b]) => arith("-", a!, b!));
  define(t, "mul", 2, ([a, b]) => arith("*", a!, b!));
  define(t, "div", 2, ([a, b]) => arith("/", a!, b!));
  define(t, "rem", 2, ([a, b]) => arith("%", a!, b!));
  define(t, "abs", 1, ([a]) => Math.abs(num("abs", a)));
  define(t, "ceil", 1, ([a]) => Math.ceil(num("ceil", a)) + 0);
  define(t, "floor", 1, ([a]) => Math.floor(num("floor", a)) + 0);
  define(t, "round", 1, ([a]) => roundHalfAway(num("round", a)) + 0);
  define(t, "numbers.range", 2, ([a, b]) => {
    const x = num("numbers.range", a), y = num("numbers.range", b);
    if (!Number.isInteger(x) || !Number.isInteger(y)) {
      throw new BuiltinError("`numbers.range` operands must be integer");
    }
    return range("numbers.range", x, y, 1);
  });
  define(t, "numbers.range_step", 3, ([a, b, s]) => {
    const x = int("numbers.range_step", a), y = int("numbers.range_step", b);
    const step = int("numbers.range_step", s);
    if (step <= 0) throw new BuiltinError("`numbers.range_step` step must be a positive integer");
    return range("numbers.range_step", x, y, step);
  });
  define(t, "rand.intn", 2, ([s, n]) => {
    if (typeof s !== "string") throw new BuiltinError("`rand.intn` expects string argument");
    if (typeof n !== "number") throw new BuiltinError("`rand.intn` expects numeric argument");
    if (!Number.isInteger(n)) return undefined;
    if (n === 0) return 0;
    // Deterministic for a (seed, n) pair within and across evaluations.
    const h = createHash("sha256").update(`${s}\u0000${n}`).digest();
    return Number(h.readBigUInt64BE(0) % BigInt(Math.abs(n)));
  });
  define(t, "to_number", 1, ([v]) => {
    if (typeof v === "number") return v;
    if (v === null) return 0;
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "string") {
      const s = v.trim();
      if (s !== v || !/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
        throw new BuiltinError(`could not parse string as number: ${show(v)}`);
      }
      return Number(s);
    }
    throw new BuiltinError(
      `\`to_number\` expects numeric, string, boolean or null argument. Got \`${
        show(v!)
      }\` instead`,
    );
  });
  const bits = (name: string, f: (a: bigint, b: bigint) => bigint) =>
    define(t, name, 2, ([a, b]) => Number(BigInt.asIntN(64, f(toBig(name, a), toBig(name, b)))));
  bits("bits.and", (a, b) => a & b);
  bits("bits.or", (a, b) => a | b);
  bits("bits.xor", (a, b) => a ^ b);
  bits("bits.lsh", (a, b) => a << b);
  bits("bits.rsh", (a, b) => a >> b);
  define(t, "bits.negate", 1, ([a]) => Number(~toBig("bits.negate", a)));
}
