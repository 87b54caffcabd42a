/**
 * The KBS resource policy: Rego text stored as `resource-policy.rego` in the `kbs` namespace,
 * evaluated as `data.policy.allow` with the token claims as `input` and
 * `{plugin, "resource-path", query}` as `data` (spec/trustee.md §4.1). Only boolean `true` allows.
 */
import type { JsonValue } from "@coco/lib/json";
import type { KvStore } from "../storage/mod.ts";
import type { PolicyEngine } from "../policy/engine.ts";
import { POLICIES } from "./policies/embedded.ts";

export const RESOURCE_POLICY_KEY = "resource-policy.rego";
export type SamplePolicy = "default" | "allow_all" | "deny_all" | "affirming";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Text of one of the shipped sample policies. */
export function samplePolicy(name: SamplePolicy): Promise<string> {
  return Promise.resolve(POLICIES[name]!);
}

export interface PolicyDecision {
  allow: boolean;
  /** Why it was denied (rule and failing expression), when the engine can say. */
  explanation?: unknown;
}

export class ResourcePolicy {
  constructor(private kv: KvStore, private engine: PolicyEngine) {}

  /** Writes the default policy unless one is stored already. */
  async install(): Promise<void> {
    await this.kv.set(RESOURCE_POLICY_KEY, enc.encode(await samplePolicy("default")), {
      overwrite: false,
    });
  }

  /** Syntax-checks and stores a policy. */
  async set(text: string): Promise<void> {
    this.engine.check(text);
    await this.kv.set(RESOURCE_POLICY_KEY, enc.encode(text), { overwrite: true });
  }

  async list(): Promise<string[]> {
    return (await this.kv.list()).filter((k) => k.endsWith(".rego")).map((k) => k.slice(0, -5));
  }

  async evaluate(
    claims: JsonValue,
    data: { plugin: string; "resource-path": string[]; query: Record<string, string> },
  ): Promise<PolicyDecision> {
    const bytes = await this.kv.get(RESOURCE_POLICY_KEY);
    if (!bytes) return { allow: false, explanation: "no resource policy is stored" };
    const policy = this.engine.load(dec.decode(bytes), RESOURCE_POLICY_KEY);
    const r = policy.evaluate("data.policy.allow", { input: claims, data });
    if (r.value === true) return { allow: true };
    const again = policy.evaluate("data.policy.allow", { input: claims, data, explain: true });
    return {
      allow: false,
      explanation: again.explanation ??
        `data.policy.allow is ${JSON.stringify(r.value ?? "undefined")}`,
    };
  }
}
