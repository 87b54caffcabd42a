/**
 * The built-in attestation service: verify each piece of evidence, appraise its claims with the
 * per-class policy (`<policy id>_<class>`), and issue one EAR token (spec/trustee.md §5.1).
 */
import type { JsonValue } from "@coco/lib/json";
import { isJsonObject } from "@coco/lib/json";
import { CodedError } from "@coco/lib/errors";
import type { Logger } from "@coco/lib/log";
import { type HashAlgorithm, hashCanonical, type Tee } from "@coco/lib/kbs";
import { initDataClaims, initDataDigest, parseInitDataToml } from "@coco/lib/initdata";
import {
  createVerifier,
  type Verifier,
  VerifierError,
  type VerifierOptions,
} from "../verifier/mod.ts";
import type { KvStore } from "../storage/mod.ts";
import type { Rvps } from "../rvps/mod.ts";
import { PolicyEngine } from "../policy/engine.ts";
import { type Appraisal, earClaims, signEar, type TokenBrokerConfig } from "./ear.ts";
import type { TokenSigner } from "./signer.ts";
import { isTrustClaim, TRUST_CLAIMS, type TrustVector } from "./trust_vector.ts";
import { POLICIES } from "./policies/embedded.ts";

export class AttestationError
  extends CodedError<"verify" | "policy" | "init-data" | "bad-request"> {}

/** One piece of evidence to verify. */
export interface VerificationRequest {
  tee: Tee;
  evidence: JsonValue;
  runtimeData?: { structured: JsonValue } | { raw: Uint8Array };
  hashAlgorithm: HashAlgorithm;
  initData?: { toml: string } | { digest: Uint8Array };
}

const DEFAULT_POLICY_FILES = ["default_cpu", "default_gpu", "default_switch", "default_ppcie"];

export interface AttestationServiceDeps {
  policies: KvStore;
  rvps: Rvps;
  signer: TokenSigner;
  broker: TokenBrokerConfig;
  logger: Logger;
  engine?: PolicyEngine;
  verifierFor?: (tee: Tee) => Verifier;
  /** Options for the built-in verifiers (trusted TPM AKs, collateral, clock) from the config. */
  verifierOptions?: VerifierOptions;
  now?: () => number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class AttestationService {
  readonly engine: PolicyEngine;
  #deps: AttestationServiceDeps;
  /** One verifier per TEE, so certificate and collateral caches stay warm across requests. */
  #verifiers = new Map<Tee, Verifier>();

  private constructor(deps: AttestationServiceDeps) {
    this.#deps = deps;
    this.engine = deps.engine ?? new PolicyEngine();
  }

  /** Creates the service and installs the default policies (without overwriting stored ones). */
  static async create(deps: AttestationServiceDeps): Promise<AttestationService> {
    const as = new AttestationService(deps);
    for (const id of DEFAULT_POLICY_FILES) {
      const text = POLICIES[id]!;
      await deps.policies.set(`${id}.rego`, enc.encode(text), { overwrite: false });
    }
    return as;
  }

  /** Stores an appraisal policy after a syntax check. */
  async setPolicy(id: string, text: string): Promise<void> {
    this.engine.check(text);
    await this.#deps.policies.set(`${id}.rego`, enc.encode(text), { overwrite: true });
  }

  async listPolicies(): Promise<string[]> {
    return (await this.#deps.policies.list()).filter((k) => k.endsWith(".rego")).map((k) =>
      k.slice(0, -5)
    );
  }

  /** The JWKS of the token signer. */
  jwks(): { keys: JsonValue[] } {
    return { keys: [this.#deps.signer.jwk as unknown as JsonValue] };
  }

  /** Verifies every request and returns a signed EAR token. */
  async evaluate(
    requests: VerificationRequest[],
    policyIds: string[] = ["default"],
  ): Promise<string> {
    return (await this.evaluateWithClaims(requests, policyIds)).token;
  }

  /** As {@linkcode evaluate}, also returning the signed claims (callers need not decode them). */
  async evaluateWithClaims(
    requests: VerificationRequest[],
    policyIds: string[] = ["default"],
  ): Promise<{ token: string; claims: Record<string, JsonValue> }> {
    const policyId = policyIds[0] ?? "default";
    if (policyIds.length > 1) {
      this.#deps.logger.warn("only the first policy id is used", { policyIds });
    }
    const counters = new Map<string, number>();
    const appraisals: Appraisal[] = [];
    const rv = await this.#deps.rvps.snapshot();
    for (const req of requests) {
      for (const annotated of await this.#verify(req)) {
        const index = counters.get(annotated.teeClass) ?? 0;
        counters.set(annotated.teeClass, index + 1);
        const appraised = await this.#appraise(
          `${policyId}_${annotated.teeClass}`,
          annotated.evidence,
          rv,
        );
        appraisals.push({
          submod: `${annotated.teeClass}${index}`,
          policyId,
          trustVector: appraised.trustVector,
          extensions: appraised.extensions,
          annotatedEvidence: annotated.evidence,
        });
      }
    }
    const now = Math.floor((this.#deps.now ?? Date.now)() / 1000);
    const claims = earClaims(this.#deps.broker, appraisals, now);
    return { token: await signEar(this.#deps.signer, claims), claims };
  }

  async #verify(req: VerificationRequest) {
    let reportData: Uint8Array | undefined;
    let runtimeClaims: JsonValue | null = null;
    if (req.runtimeData && "structured" in req.runtimeData) {
      reportData = hashCanonical(req.hashAlgorithm, req.runtimeData.structured);
      runtimeClaims = req.runtimeData.structured;
    } else if (req.runtimeData) reportData = req.runtimeData.raw;
    let initHash: Uint8Array | undefined;
    let initClaims: JsonValue | null = null;
    if (req.initData && "toml" in req.initData) {
      let parsed;
      try {
        parsed = parseInitDataToml(req.initData.toml);
      } catch (err) {
        throw new AttestationError("init-data", (err as Error).message, { cause: err });
      }
      initHash = initDataDigest(req.initData.toml, parsed.algorithm);
      initClaims = initDataClaims(parsed);
    } else if (req.initData) initHash = req.initData.digest;
    let verified;
    try {
      const verifier = this.#verifier(req.tee);
      verified = await verifier.evaluate({
        evidence: req.evidence,
        ...(reportData ? { reportData } : {}),
        ...(initHash ? { initDataHash: initHash } : {}),
      });
    } catch (err) {
      if (err instanceof VerifierError) {
        throw new AttestationError("verify", err.message, { cause: err });
      }
      throw err;
    }
    return verified.map(({ claims, teeClass }) => {
      const { report_data, init_data, ...teeClaims } = claims;
      const evidence: Record<string, JsonValue> = { [req.tee]: teeClaims };
      if (report_data !== undefined) {
        evidence.report_data = report_data;
        evidence.runtime_data_claims = runtimeClaims;
      }
      if (init_data !== undefined) {
        evidence.init_data = init_data;
        evidence.init_data_claims = initClaims;
      }
      return { teeClass, evidence };
    });
  }

  #verifier(tee: Tee): Verifier {
    let v = this.#verifiers.get(tee);
    if (!v) {
      v = this.#deps.verifierFor?.(tee) ?? createVerifier(tee, this.#deps.verifierOptions);
      this.#verifiers.set(tee, v);
    }
    return v;
  }

  async #appraise(policyId: string, input: Record<string, JsonValue>, rv: Map<string, JsonValue>) {
    const bytes = await this.#deps.policies.get(`${policyId}.rego`);
    if (!bytes) {
      throw new AttestationError(
        "policy",
        `Cannot appraise evidence: no attestation policy \`${policyId}\``,
      );
    }
    const policy = this.engine.load(dec.decode(bytes), `${policyId}.rego`);
    const claims =
      policy.evaluate("data.policy.trust_claims", { input, referenceValues: rv }).value;
    const trustVector: TrustVector = {};
    if (claims !== undefined) {
      if (!isJsonObject(claims) || Object.keys(claims).length === 0) {
        throw new AttestationError(
          "policy",
          `Cannot appraise evidence: ${policyId} trust_claims must be a non-empty object`,
        );
      }
      for (const [name, v] of Object.entries(claims)) {
        if (!isTrustClaim(name)) {
          throw new AttestationError(
            "policy",
            `Cannot appraise evidence: ${policyId} sets unknown trust claim \`${name}\``,
          );
        }
        if (typeof v !== "number" || !Number.isInteger(v) || v < -128 || v > 127) {
          throw new AttestationError(
            "policy",
            `Cannot appraise evidence: ${policyId} trust claim ${name} must be an 8-bit integer`,
          );
        }
        trustVector[name] = v;
      }
    } else {
      for (const name of TRUST_CLAIMS) trustVector[name] = 0;
    }
    const extRaw =
      policy.evaluate("data.policy.extensions", { input, referenceValues: rv }).value ?? [];
    if (!Array.isArray(extRaw)) {
      throw new AttestationError(
        "policy",
        `Cannot appraise evidence: ${policyId} extensions must be an array`,
      );
    }
    const extensions = extRaw.map((e) => {
      if (!isJsonObject(e) || typeof e.name !== "string") {
        throw new AttestationError(
          "policy",
          `Cannot appraise evidence: ${policyId} extension needs a string name`,
        );
      }
      return { name: e.name, value: (e.value ?? null) as JsonValue };
    });
    return { trustVector, extensions };
  }
}
