/**
 * The policy engine behind every trustee decision: Rego via `@coco/lib/rego`, compiled once per
 * policy text and reused. Custom builtins read per-evaluation context (reference values) set just
 * before the synchronous evaluation.
 */
import { checkSyntax, compile, type CompiledPolicy, RegoError } from "@coco/lib/rego";
import type { JsonValue } from "@coco/lib/json";
import { CodedError } from "@coco/lib/errors";

export class PolicyError extends CodedError<"parse" | "eval"> {}

export interface PolicyEvalOptions {
  input?: JsonValue;
  data?: JsonValue;
  referenceValues?: Map<string, JsonValue>;
  explain?: boolean;
}

/** A compiled policy ready to evaluate queries. */
export interface LoadedPolicy {
  evaluate(
    query: string,
    options?: PolicyEvalOptions,
  ): { value: JsonValue | undefined; explanation?: unknown };
}

/** Compiles and caches policies by text. */
export class PolicyEngine {
  #cache = new Map<string, LoadedPolicy>();
  #rv: Map<string, JsonValue> | undefined;
  readonly #timeoutMs: number | undefined;

  /** `timeoutMs` bounds each evaluation (the Rego engine's own default is 5000 ms). */
  constructor(options: { timeoutMs?: number } = {}) {
    this.#timeoutMs = options.timeoutMs;
  }

  /** Throws `PolicyError("parse")` when the text is not valid Rego. */
  check(source: string): void {
    try {
      checkSyntax(source);
    } catch (err) {
      throw new PolicyError("parse", `Invalid Rego policy: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  load(source: string, name = "policy.rego"): LoadedPolicy {
    const hit = this.#cache.get(source);
    if (hit) return hit;
    let compiled: CompiledPolicy;
    try {
      compiled = compile([{ path: name, source }], {
        customBuiltins: {
          query_reference_value: (id) =>
            (typeof id === "string" ? this.#rv?.get(id) : undefined) ?? null,
        },
      });
    } catch (err) {
      throw new PolicyError("parse", `Invalid Rego policy ${name}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const loaded: LoadedPolicy = {
      evaluate: (query, options = {}) => {
        this.#rv = options.referenceValues;
        try {
          const opts: Parameters<CompiledPolicy["evaluate"]>[1] = {};
          if (options.input !== undefined) opts.input = options.input;
          if (options.data !== undefined) opts.data = options.data;
          if (options.explain) opts.explain = true;
          if (this.#timeoutMs !== undefined) opts.limits = { timeoutMs: this.#timeoutMs };
          const r = compiled.evaluate(query, opts);
          return r.explanation === undefined
            ? { value: r.value }
            : { value: r.value, explanation: r.explanation };
        } catch (err) {
          const msg = err instanceof RegoError ? err.message : String(err);
          throw new PolicyError("eval", `Cannot evaluate ${query} in ${name}: ${msg}`, {
            cause: err,
          });
        } finally {
          this.#rv = undefined;
        }
      },
    };
    if (this.#cache.size > 64) this.#cache.clear();
    this.#cache.set(source, loaded);
    return loaded;
  }
}
