/**
 * {@linkcode AgentPolicy}: the Kata agent policy (spec/runtime.md §4). Each request is checked
 * against `data.agent_policy.<RequestMessageName>` with the request's policy JSON as `input`;
 * state lives under `data.pstate` and changes through the JSON-patch `ops` a rule returns.
 */
import { compile, type CompiledPolicy, type JsonValue, RegoError } from "@coco/lib/rego";
import { agentError } from "./errors.ts";

/** A JSON-patch operation as genpolicy rules return them (`add`, `replace`, `remove`). */
interface PatchOp {
  op: string;
  path: string;
  value?: JsonValue;
}

type JsonObject = { [key: string]: JsonValue };

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function parseOps(value: JsonValue | undefined, request: string): PatchOp[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    throw agentError("internal", `Policy result for ${request} has "ops" that is not an array`);
  }
  return value.map((op, i) => {
    if (!isObject(op) || typeof op.op !== "string" || typeof op.path !== "string") {
      throw agentError("internal", `Policy result for ${request}: ops[${i}] is not {op, path}`);
    }
    return { op: op.op, path: op.path, ...(op.value !== undefined ? { value: op.value } : {}) };
  });
}

function unescape(token: string): string {
  return token.replaceAll("~1", "/").replaceAll("~0", "~");
}

/** Applies JSON-patch ops to `doc` in place (objects only: enough for `pstate`). */
export function applyOps(doc: JsonObject, ops: PatchOp[]): void {
  for (const op of ops) {
    const parts = op.path.split("/").slice(1).map(unescape);
    const last = parts.pop();
    if (last === undefined || !op.path.startsWith("/")) {
      throw agentError("internal", `Cannot apply policy op: bad path "${op.path}"`);
    }
    let at: JsonObject = doc;
    for (const p of parts) {
      const next = at[p];
      if (!isObject(next)) throw agentError("internal", `Cannot apply policy op: no ${op.path}`);
      at = next;
    }
    if (op.op === "add" || op.op === "replace") at[last] = op.value ?? null;
    else if (op.op === "remove") delete at[last];
    else throw agentError("internal", `Cannot apply policy op "${op.op}": unsupported`);
  }
}

/** A compiled agent policy with its state. */
export class AgentPolicy {
  readonly #policy: CompiledPolicy;
  readonly #data: JsonObject = { pstate: {} };
  /** Where the policy came from (file path, `init-data`, `SetPolicy`). */
  readonly origin: string;

  private constructor(policy: CompiledPolicy, origin: string) {
    this.#policy = policy;
    this.origin = origin;
  }

  /** Compiles Rego text (v0 syntax with future keywords, as genpolicy emits). */
  static fromText(text: string, origin: string): AgentPolicy {
    try {
      const policy = compile([{ path: origin, source: text }], { v0: true });
      return new AgentPolicy(policy, origin);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw agentError("invalid-argument", `Cannot load agent policy from ${origin}: ${why}`, err);
    }
  }

  /** Reads and compiles a policy file. */
  static async fromFile(path: string): Promise<AgentPolicy> {
    return AgentPolicy.fromText(await Deno.readTextFile(path), path);
  }

  /** The policy state document (`data.pstate`), for tests and diagnostics. */
  get state(): JsonValue {
    return structuredClone(this.#data.pstate ?? {});
  }

  /**
   * Checks one request. Throws AgentError `permission-denied` naming the rule (and the literal
   * that failed, from the engine's explanation) when denied, `internal` when the policy has no
   * answer or fails.
   */
  check(request: string, input: JsonValue): void {
    const rule = `data.agent_policy.${request}`;
    let value: JsonValue | undefined;
    let prints: string[] = [];
    try {
      const r = this.#policy.evaluate(rule, { input, data: this.#data });
      value = r.value;
      prints = r.prints;
    } catch (err) {
      if (this.#allowFailing()) return;
      const why = err instanceof RegoError ? err.message : String(err);
      throw agentError("internal", `${request} policy evaluation failed: ${why}`, err);
    }
    let allowed: boolean;
    let ops: PatchOp[] = [];
    if (typeof value === "boolean") allowed = value;
    else if (isObject(value) && typeof value.allowed === "boolean") {
      allowed = value.allowed;
      ops = parseOps(value.ops, request);
    } else if (value === undefined) {
      if (this.#allowFailing()) return;
      throw agentError("internal", `${request} is not defined by the policy (${rule})`);
    } else {
      throw agentError("internal", `${rule} must be a boolean or {allowed, ops}`);
    }
    if (!allowed) {
      if (this.#allowFailing()) return;
      throw agentError("permission-denied", this.#denial(request, rule, input, prints));
    }
    applyOps(this.#data, ops);
  }

  #allowFailing(): boolean {
    try {
      return this.#policy.evaluate("data.agent_policy.AllowRequestsFailingPolicy", {
        data: this.#data,
      }).value === true;
    } catch {
      return false;
    }
  }

  #denial(request: string, rule: string, input: JsonValue, prints: string[]): string {
    let where = "";
    try {
      const ex = this.#policy.evaluate(rule, { input, data: this.#data, explain: true })
        .explanation;
      const failed = ex?.bodies.map((b) => b.failedAt).filter((f) => f !== undefined) ?? [];
      if (failed.length) {
        where = `; failed at ${failed.map((f) => `\`${f.text}\` (${f.location})`).join(", ")}`;
      } else if (ex?.defaulted) where = "; no rule allowed it (default value)";
    } catch {
      // explanation is best effort
    }
    const printed = prints.length ? ` ${prints.join("; ")}` : "";
    return `${request} is blocked by policy: rule ${rule} denied it${where}${printed}`;
  }
}
