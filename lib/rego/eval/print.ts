/** Formatting of `print()` arguments (strings raw at top level, other values Rego-style). */

import { show } from "../builtins/_util.ts";
import type { Value } from "../value.ts";

/** Formats one print operand. */
export function formatPrint(v: Value): string {
  return typeof v === "string" ? v : show(v);
}
