/**
 * The EAR token broker: one appraisal (submod) per verified claim set, signed as an ES256 JWT with
 * the signing key's JWK in the header (spec/trustee.md §5.2–§5.3).
 */
import { createHash } from "node:crypto";
import { SignJWT } from "jose";
import type { JsonValue } from "@coco/lib/json";
import { statusOf, type TrustVector } from "./trust_vector.ts";
import { p256 } from "@noble/curves/nist.js";
import type { TokenSigner } from "./signer.ts";

export interface TokenBrokerConfig {
  duration_min: number;
  issuer_name: string;
  developer_name: string;
  build_name: string;
  profile_name: string;
  verbose_token: boolean;
}

export const DEFAULT_TOKEN_BROKER: TokenBrokerConfig = {
  duration_min: 5,
  issuer_name: "CoCo-Attestation-Service",
  developer_name: "https://confidentialcontainers.org",
  build_name: "coco-deno-trustee 0.1.0",
  profile_name: "tag:github.com,2024:confidential-containers/Trustee",
  verbose_token: true,
};

/** One appraisal: the submod name, its trust vector, extensions and annotated evidence. */
export interface Appraisal {
  submod: string;
  policyId: string;
  trustVector: TrustVector;
  annotatedEvidence: Record<string, JsonValue>;
  extensions: Array<{ name: string; value: JsonValue }>;
}

/** Builds the EAR claim set (member order as rust-ear writes it). */
export function earClaims(
  config: TokenBrokerConfig,
  appraisals: Appraisal[],
  nowSeconds: number,
): Record<string, JsonValue> {
  const submods: Record<string, JsonValue> = {};
  for (const a of appraisals) {
    const evidence = { ...a.annotatedEvidence };
    const rd = evidence.runtime_data_claims;
    if (!config.verbose_token && rd && typeof rd === "object" && !Array.isArray(rd)) {
      const { ["additional-evidence"]: _, ...rest } = rd;
      evidence.runtime_data_claims = rest;
    }
    const submod: Record<string, JsonValue> = {
      "ear.status": statusOf(a.trustVector),
      "ear.trustworthiness-vector": a.trustVector as Record<string, number>,
      "ear.appraisal-policy-id": a.policyId,
      "ear.veraison.annotated-evidence": evidence,
    };
    for (const ext of a.extensions) submod[ext.name] = ext.value;
    submods[a.submod] = submod;
  }
  return {
    eat_profile: config.profile_name,
    iat: nowSeconds,
    "ear.verifier-id": { developer: config.developer_name, build: config.build_name },
    submods,
    exp: nowSeconds + config.duration_min * 60,
    iss: config.issuer_name,
  };
}

const b64u = (bytes: Uint8Array) => bytes.toBase64({ alphabet: "base64url", omitPadding: true });
const utf8 = new TextEncoder();

/** Signs claims as an ES256 JWT with header `{typ, alg, jwk}`. */
export function signEar(signer: TokenSigner, claims: Record<string, JsonValue>): Promise<string> {
  if (signer.native || signer.d) {
    // Same JWS as jose would produce, signed by libcrypto or @noble/curves (see TokenSigner).
    const header = { typ: "JWT", alg: "ES256", jwk: signer.jwk };
    const text = `${b64u(utf8.encode(JSON.stringify(header)))}.${
      b64u(utf8.encode(JSON.stringify(claims)))
    }`;
    const input = utf8.encode(text);
    const signature = signer.native // r‖s (64 B), low S either way
      ? signer.native.signDigest(createHash("sha256").update(input).digest())
      : p256.sign(input, signer.d!); // SHA-256 prehash
    return Promise.resolve(`${text}.${b64u(signature)}`);
  }
  return new SignJWT(claims)
    .setProtectedHeader({
      typ: "JWT",
      alg: "ES256",
      jwk: signer.jwk as unknown as Record<string, string>,
    })
    .sign(signer.privateKey);
}
