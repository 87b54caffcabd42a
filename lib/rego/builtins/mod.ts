/**
 * The standard builtin table.
 *
 * @module
 */

import type { BuiltinTable } from "./_util.ts";
import { aggregates } from "./aggregates.ts";
import { collections } from "./collections.ts";
import { encoding } from "./encoding.ts";
import { misc } from "./misc.ts";
import { numbers } from "./numbers.ts";
import { regex } from "./regex.ts";
import { strings } from "./strings.ts";
import { time } from "./time.ts";

function build(): BuiltinTable {
  const t: BuiltinTable = new Map();
  for (const f of [aggregates, collections, encoding, misc, numbers, regex, strings, time]) f(t);
  t.set("print", { arity: -1, fn: () => true });
  t.set("trace", { arity: 1, fn: () => true });
  return t;
}

/** All standard builtins by name. */
export const builtins: ReadonlyMap<string, import("./_util.ts").Builtin> = build();
