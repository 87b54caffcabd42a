/**
 * Image signature policy for the guest (spec/guest.md §6): containers `policy.json` with
 * `insecureAcceptAnything`, `reject`, `signedBy` (GPG simple signing from a registries.d lookaside
 * store or the registry's signature API) and `sigstoreSigned` (cosign key-based `.sig` tags),
 * `signedIdentity` rules and docker scope resolution. Policies and keys may be `kbs:///` resources.
 *
 * @example The pull pipeline, after fetching the manifest and before any layer
 * ```ts
 * const policy = parsePolicy(await load("kbs:///default/security-policy/test"));
 * await checkImagePolicy(
 *   { reference, manifestDigest, indexDigest },
 *   { policy, loadResource: load, registriesD, registry },
 * ); // throws SignatureError (code, requirement, scope) when refused
 * ```
 *
 * @module
 */
export {
  checkImagePolicy,
  type PolicyCheckDeps,
  type PolicyCheckInput,
  type PolicyDecision,
} from "./check.ts";
export {
  COSIGN_LAYER,
  COSIGN_SIGNATURE_ANNOTATION,
  cosignTag,
  parseCosignKey,
  parseCosignManifest,
  verifyCosignSignature,
} from "./cosign.ts";
export { SignatureError, type SignatureErrorCode } from "./errors.ts";
export { type GpgKeyring, parseGpgKeyring, verifyGpgSignature } from "./gpg.ts";
export {
  identityMatches,
  parseClaimedReference,
  parseSignedIdentity,
  type SignedIdentity,
} from "./identity.ts";
export {
  ATOMIC_TYPE,
  COSIGN_TYPE,
  encodeSignedPayload,
  parseSignedPayload,
  type SignedClaims,
} from "./payload.ts";
export { type KeySource, parsePolicy, type Policy, type Requirement } from "./policy.ts";
export {
  loadRegistriesDDir,
  lookasideBase,
  lookasideUrl,
  parseRegistriesD,
  type RegistriesD,
} from "./registries_d.ts";
export { type ResourceLoader, resourceLoader } from "./resources.ts";
export { dockerScopes, lookupScope } from "./scope.ts";
export {
  lookasideSignatures,
  MAX_SIGNATURES,
  parseExtensionSignatures,
  type SignatureRegistry,
} from "./sources.ts";
