/** Arithmetic, set operators and membership (`in`). */

import { BuiltinError, show } from "../builtins/_util.ts";
import { equal, ObjectValue, SetValue, type Value } from "../value.ts";

const OP_NAMES: Record<string, string> = {
  "+": "add",
  "-": "sub",
  "*": "mul",
  "/": "div",
  "%": "mod",
};

/** Applies an arithmetic operator; `-` on sets is set difference. */
export function arith(op: string, l: Value, r: Value): Value {
  if (op === "-" && l instanceof SetValue && r instanceof SetValue) {
    return new SetValue(l.values().filter((v) => !r.has(v)));
  }
  const name = OP_NAMES[op]!;
  if (typeof l !== "number") {
    throw new BuiltinError(`\`${name}\` expects numeric argument. Got \`${show(l)}\` instead`);
  }
  if (typeof r !== "number") {
    throw new BuiltinError(`\`${name}\` expects numeric argument. Got \`${show(r)}\` instead`);
  }
  switch (op) {
    case "+":
      return l + r;
    case "-":
      return l - r;
    case "*":
      return l * r;
    case "/":
      if (r === 0) throw new BuiltinError("divide by zero");
      return l / r;
    default:
      if (!Number.isInteger(l) || !Number.isInteger(r)) {
        throw new BuiltinError("modulo on floating-point number");
      }
      if (r === 0) throw new BuiltinError("modulo by zero");
      return intRem(l, r);
  }
}

function intRem(l: number, r: number): number {
  if (Number.isSafeInteger(l) && Number.isSafeInteger(r)) return (l % r) + 0;
  return Number(BigInt(l) % BigInt(r));
}

/** `|` (union) and `&` (intersection) on sets. */
export function setOp(op: string, l: Value, r: Value): Value {
  const name = op === "|" ? "union" : "intersection";
  if (!(l instanceof SetValue)) {
    throw new BuiltinError(`\`${name}\` expects set argument. Got \`${show(l)}\` instead`);
  }
  if (!(r instanceof SetValue)) {
    throw new BuiltinError(`\`${name}\` expects set argument. Got \`${show(r)}\` instead`);
  }
  if (op === "|") return new SetValue([...l.values(), ...r.values()]);
  return new SetValue(l.values().filter((v) => r.has(v)));
}

/** `x in c`: array element, object value or set member. */
export function inCollection(v: Value, c: Value): boolean {
  if (Array.isArray(c)) return c.some((x) => equal(x, v));
  if (c instanceof SetValue) return c.has(v);
  if (c instanceof ObjectValue) {
    for (const k of c.keys()) if (equal(c.get(k)!, v)) return true;
  }
  return false;
}
