/**
 * {@linkcode checkImagePolicy}: the pull pipeline's gate (spec/guest.md §5.3 step g). It runs
 * after the manifest was fetched and verified and before any layer is fetched, selects the
 * requirements of the most specific policy scope, and requires all of them to pass.
 */
import type { ImageReference } from "@coco/lib/oci";
import { cosignTag, parseCosignKey, parseCosignManifest, verifyCosignSignature } from "./cosign.ts";
import { SignatureError, type SignatureErrorCode } from "./errors.ts";
import { parseGpgKeyring, verifyGpgSignature } from "./gpg.ts";
import { identityMatches } from "./identity.ts";
import { ATOMIC_TYPE, COSIGN_TYPE, parseSignedPayload, type SignedClaims } from "./payload.ts";
import type { KeySource, Policy, Requirement } from "./policy.ts";
import { lookasideBase, type RegistriesD } from "./registries_d.ts";
import type { ResourceLoader } from "./resources.ts";
import { lookupScope } from "./scope.ts";
import { lookasideSignatures, type SignatureRegistry } from "./sources.ts";

/** The image being admitted. */
export interface PolicyCheckInput {
  /** The reference actually pulled (after registries.conf mirrors/remapping), as image-rs. */
  reference: ImageReference;
  /** Digest of the image manifest (the platform manifest when selected from an index). */
  manifestDigest: string;
  /** Digest of the index / manifest list it was selected from, when there was one. */
  indexDigest?: string;
}

/** What the check needs. */
export interface PolicyCheckDeps {
  policy: Policy;
  /** Reads `keyPath`s: files, `file://`, `kbs:///` through the CDH. */
  loadResource: ResourceLoader;
  /** Lookaside configuration for `signedBy`. */
  registriesD?: RegistriesD;
  /** Registry access for cosign `.sig` manifests and the signature extension API. */
  registry?: SignatureRegistry;
  /** For `http(s)` lookaside stores (default: global fetch). */
  fetch?: typeof fetch;
}

/** Which scope decided and whether a signature was verified. */
export interface PolicyDecision {
  scope: string;
  requirements: Requirement["type"][];
  /** True when at least one signature requirement passed. */
  signed: boolean;
}

const RANK: SignatureErrorCode[] = [
  "no-signature",
  "unavailable",
  "invalid-signature",
  "digest-mismatch",
  "identity-mismatch",
];

/** Collects why each candidate signature failed, to report the most telling reason. */
class Outcome {
  code: SignatureErrorCode = "no-signature";
  readonly reasons: string[] = [];
  note(code: SignatureErrorCode, reason: string) {
    if (RANK.indexOf(code) > RANK.indexOf(this.code)) this.code = code;
    this.reasons.push(reason);
  }
}

function selectRequirements(policy: Policy, ref: ImageReference) {
  const docker = policy.transports["docker"];
  const hit = lookupScope(ref, docker);
  if (hit) return { scope: hit.scope, reqs: hit.value };
  if (docker && Object.hasOwn(docker, "")) return { scope: "", reqs: docker[""]! };
  return { scope: "default", reqs: policy.default };
}

async function keyBytes(keys: KeySource, load: ResourceLoader) {
  if (keys.kind === "paths") {
    return await Promise.all(keys.paths.map(async (p) => ({ source: p, bytes: await load(p) })));
  }
  return keys.data.map((d, i) => {
    try {
      return { source: `keyData[${i}]`, bytes: Uint8Array.fromBase64(d) };
    } catch {
      return { source: `keyData[${i}]`, bytes: new TextEncoder().encode(d) };
    }
  });
}

function judge(
  claims: SignedClaims,
  input: PolicyCheckInput,
  req: Extract<Requirement, { signedIdentity: unknown }>,
  out: Outcome,
): boolean {
  const digests = [input.manifestDigest, input.indexDigest].filter((d) => d !== undefined);
  if (!digests.includes(claims.manifestDigest)) {
    out.note("digest-mismatch", `signature is for manifest ${claims.manifestDigest}`);
    return false;
  }
  if (!identityMatches(req.signedIdentity, input.reference, claims.dockerReference)) {
    out.note(
      "identity-mismatch",
      `signature names ${claims.dockerReference} (rule ${req.signedIdentity.type})`,
    );
    return false;
  }
  return true;
}

async function signedBy(
  req: Extract<Requirement, { type: "signedBy" }>,
  input: PolicyCheckInput,
  deps: PolicyCheckDeps,
  out: Outcome,
): Promise<boolean> {
  const keyring = (await Promise.all(
    (await keyBytes(req.keys, deps.loadResource)).map((k) => parseGpgKeyring(k.bytes, k.source)),
  )).flat();
  const base = deps.registriesD ? lookasideBase(deps.registriesD, input.reference) : undefined;
  const digests = [input.manifestDigest, input.indexDigest].filter((d) => d !== undefined);
  for (const digest of digests) {
    const sigs: Uint8Array[] = [];
    if (base) sigs.push(...await lookasideSignatures(base, input.reference, digest, deps.fetch));
    if (deps.registry?.fetchExtensionSignatures) {
      sigs.push(...await deps.registry.fetchExtensionSignatures(input.reference, digest));
    }
    for (const sig of sigs) {
      try {
        const claims = parseSignedPayload(await verifyGpgSignature(sig, keyring), ATOMIC_TYPE);
        if (judge(claims, input, req, out)) return true;
      } catch (err) {
        if (!(err instanceof SignatureError)) throw err;
        out.note(err.code, err.message);
      }
    }
  }
  if (!base && !deps.registry?.fetchExtensionSignatures) {
    out.reasons.push("no lookaside store is configured for it in registries.d");
  }
  return false;
}

async function sigstoreSigned(
  req: Extract<Requirement, { type: "sigstoreSigned" }>,
  input: PolicyCheckInput,
  deps: PolicyCheckDeps,
  out: Outcome,
): Promise<boolean> {
  const keys = (await keyBytes(req.keys, deps.loadResource)).map((k) =>
    parseCosignKey(k.bytes, k.source)
  );
  const registry = deps.registry;
  if (!registry) {
    out.note("unavailable", "no registry client to read cosign signatures");
    return false;
  }
  const digests = [...new Set([input.indexDigest ?? input.manifestDigest, input.manifestDigest])];
  for (const digest of digests) {
    const manifest = await registry.fetchManifest(input.reference, cosignTag(digest));
    if (!manifest) continue;
    for (const layer of parseCosignManifest(manifest)) {
      const payload = await registry.fetchBlob(input.reference, layer.digest);
      if (!keys.some((k) => verifyCosignSignature(payload, layer.signature, k))) {
        out.note("invalid-signature", `cosign signature ${layer.digest} does not verify`);
        continue;
      }
      try {
        if (judge(parseSignedPayload(payload, COSIGN_TYPE), input, req, out)) return true;
      } catch (err) {
        if (!(err instanceof SignatureError)) throw err;
        out.note(err.code, err.message);
      }
    }
  }
  return false;
}

/**
 * Admits or refuses an image under the policy. Resolves with the decision, or throws a
 * {@linkcode SignatureError} whose `code`, `requirement` and `scope` say which requirement
 * refused and why (`rejected`, `no-signature`, `invalid-signature`, `identity-mismatch`,
 * `digest-mismatch`, `invalid-key`, `unavailable`).
 */
export async function checkImagePolicy(
  input: PolicyCheckInput,
  deps: PolicyCheckDeps,
): Promise<PolicyDecision> {
  const { scope, reqs } = selectRequirements(deps.policy, input.reference);
  const where = scope === "default" ? "the default policy" : `policy scope "${scope}"`;
  let signed = false;
  for (const req of reqs) {
    const ctx = { requirement: req.type, scope };
    if (req.type === "insecureAcceptAnything") continue;
    if (req.type === "reject") {
      throw new SignatureError("rejected", `Image ${input.reference} is rejected by ${where}`, ctx);
    }
    const out = new Outcome();
    let ok: boolean;
    try {
      ok = req.type === "signedBy"
        ? await signedBy(req, input, deps, out)
        : await sigstoreSigned(req, input, deps, out);
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      throw new SignatureError(
        err.code,
        `Image ${input.reference} refused by ${req.type} of ${where}: ${err.message}`,
        { ...ctx, cause: err },
      );
    }
    if (!ok) {
      const why = out.reasons.length ? out.reasons.join("; ") : "no signature was found";
      const msg = out.code === "no-signature"
        ? `a signature was required but none was found (${why})`
        : `no valid signature (${why})`;
      throw new SignatureError(
        out.code,
        `Image ${input.reference} refused by ${req.type} of ${where}: ${msg}`,
        ctx,
      );
    }
    signed = true;
  }
  return { scope, requirements: reqs.map((r) => r.type), signed };
}
