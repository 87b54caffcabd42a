/**
 * Denial explanations (beyond upstream): for the queried rule, which bodies were tried and,
 * for each that failed, the first literal (in evaluation order) that was undefined or false.
 */

import type { Query } from "./ast.ts";
import type { Compiled, RuleNode } from "./compiler.ts";
import { RegoError } from "./errors.ts";
import type { Evaluator } from "./eval/rules.ts";
import type { JsonValue } from "./value.ts";

/** Why one body of a rule did not (or did) succeed. */
export interface BodyExplanation {
  /** `file:line` of the body's rule. */
  location: string;
  succeeded: boolean;
  /** The literal that failed in the attempt that got furthest. */
  failedAt?: { text: string; location: string };
  /** Evaluation error raised while explaining, if any. */
  error?: string;
}

/** Explanation of a query result. */
export interface Explanation {
  query: string;
  value: JsonValue | undefined;
  /** The rule path explained, when the query names one. */
  rule?: string;
  bodies: BodyExplanation[];
  /** True when the value came from a `default` rule. */
  defaulted: boolean;
}

const REF = /^data(\.[A-Za-z_][A-Za-z0-9_]*)+$/;

/** Builds an explanation by re-running each body of the queried rule with tracking. */
export function explain(
  compiled: Compiled,
  query: string,
  value: JsonValue | undefined,
  evaluator: () => Evaluator,
): Explanation {
  const q = query.trim();
  const out: Explanation = { query, value, bodies: [], defaulted: false };
  if (!REF.test(q)) return out;
  let node: RuleNode | undefined = compiled.root;
  for (const p of q.split(".").slice(1)) node = node?.children.get(p);
  if (!node) return out;
  out.rule = q;
  let anySucceeded = false;
  for (const def of [...node.complete, ...node.partial]) {
    for (const b of def.bodies) {
      const e = explainBody(evaluator(), b.body, `${def.file}:${b.line}`);
      anySucceeded ||= e.succeeded;
      out.bodies.push(e);
    }
  }
  out.defaulted = !anySucceeded && node.defaults.length > 0;
  return out;
}

function explainBody(ev: Evaluator, body: Query, location: string): BodyExplanation {
  let furthest = 0;
  let succeeded = false;
  const run = (i: number): boolean => {
    if (i > furthest) furthest = i;
    if (i === body.length) {
      succeeded = true;
      return true;
    }
    return ev.evalLiteral(body[i]!, () => run(i + 1));
  };
  const out: BodyExplanation = { location, succeeded: false };
  try {
    ev.withEnv(() => run(0));
  } catch (e) {
    out.error = e instanceof RegoError || e instanceof Error ? e.message : String(e);
  }
  out.succeeded = succeeded;
  const lit = body[furthest];
  if (!succeeded && lit) {
    out.failedAt = { text: lit.text, location: `${lit.loc.file}:${lit.loc.line}:${lit.loc.col}` };
  }
  return out;
}
