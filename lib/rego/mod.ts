/**
 * A pure-TypeScript Rego (OPA policy language) engine: parser, compiler, evaluator and the
 * builtin library, for KBS resource policies, attestation-service appraisal policies and Kata
 * agent policies. Compile once, evaluate many times; evaluation is bounded by step, time and
 * depth limits. See README.md for what is supported and where behaviour differs from OPA.
 *
 * @example
 * ```ts
 * import { compile } from "@coco/lib/rego";
 * const policy = compile([{ path: "policy.rego", source: "package policy\ndefault allow := false\nallow if input.ok" }]);
 * policy.evaluate("data.policy.allow", { input: { ok: true } }).value; // true
 * ```
 *
 * @module
 */

export {
  checkSyntax,
  compile,
  type CompiledPolicy,
  type CompileOptions,
  type CustomBuiltin,
  type EvalLimits,
  type EvalOptions,
  type EvalResult,
  type QueryResult,
  type RegoModule,
} from "./policy.ts";
export { RegoError, type RegoErrorCode } from "./errors.ts";
export type { BodyExplanation, Explanation } from "./explain.ts";
export type { JsonValue } from "./value.ts";
