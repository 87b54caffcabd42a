/**
 * Cryptographic verification of a CCA token (spec/evidence.md §9, local mode), in upstream order:
 * CPAK lookup by platform instance id (and, beyond upstream, the implementation id it is endorsed
 * for) → platform COSE_Sign1 with the CPAK → realm COSE_Sign1 with the RAK carried in the realm
 * token → binding: hash_{RAK hash alg}(RAK claim bytes) == platform challenge → realm challenge ==
 * expected report data. Each failure throws a {@linkcode VerifierError} naming the check.
 *
 * @module
 */
import { ab, bytesEqual } from "@coco/lib/bytes";
import { VerifierError } from "../types.ts";
import { appraiseCca, type CcaAppraisal } from "./appraise.ts";
import { CoseError, type CoseSign1, verifyCoseSign1 } from "./cose.ts";
import { importCoseKey, importJwkKey, importRawPoint } from "./keys.ts";
import type { RefValueStore, TrustAnchor } from "./stores.ts";
import { type CcaToken, CcaTokenError, decodeCcaToken } from "./token.ts";
import { CborError } from "./cbor.ts";

/** Upstream's message for every failure of the platform/RAK chain; we append the precise cause. */
export const RAK_UNVERIFIED = "RAK signature or RAK attestation could not be verified";

/** What a token is checked against. */
export interface CcaVerifyParams {
  trustAnchors: readonly TrustAnchor[];
  /** Expected realm challenge (already regularized to 64 bytes), or undefined to skip. */
  expectedChallenge?: Uint8Array;
  /** Reference values to appraise against; the outcome never fails verification. */
  refValues?: RefValueStore;
}

/** A verified token and, when reference values were given, its appraisal. */
export interface CcaVerified {
  token: CcaToken;
  appraisal?: CcaAppraisal;
}

const HASHES = { "sha-256": "SHA-256", "sha-384": "SHA-384", "sha-512": "SHA-512" } as const;

const cpakCache = new Map<string, Promise<CryptoKey>>();

/** Imports (and memoizes, bounded) the CPAK of a trust anchor. */
function cpakKey(ta: TrustAnchor): Promise<CryptoKey> {
  const id = `${ta.pkey.crv}:${ta.pkey.x}:${ta.pkey.y}`;
  let key = cpakCache.get(id);
  if (!key) {
    if (cpakCache.size >= 64) cpakCache.clear();
    key = importJwkKey(ta.pkey, `CPAK of platform instance ${ta.instanceId.toHex()}`);
    key.catch(() => cpakCache.delete(id));
    cpakCache.set(id, key);
  }
  return key;
}

function decode(bytes: Uint8Array): CcaToken {
  try {
    return decodeCcaToken(bytes);
  } catch (err) {
    if (err instanceof CcaTokenError || err instanceof CoseError || err instanceof CborError) {
      throw new VerifierError("bad-evidence", err.message, { cause: err });
    }
    throw err;
  }
}

function findAnchor(token: CcaToken, anchors: readonly TrustAnchor[]): TrustAnchor {
  const { instanceId, implementationId } = token.platformClaims;
  const ta = anchors.find((a) => bytesEqual(a.instanceId, instanceId));
  if (!ta) {
    throw new VerifierError(
      "bad-certificate-chain",
      `${RAK_UNVERIFIED}: no trust anchor (CPAK) for platform instance id ${instanceId.toHex()}`,
    );
  }
  if (!bytesEqual(ta.implementationId, implementationId)) {
    throw new VerifierError(
      "bad-certificate-chain",
      `${RAK_UNVERIFIED}: the CPAK of platform instance id ${instanceId.toHex()} is endorsed for implementation id ${ta.implementationId.toHex()}, the token has ${implementationId.toHex()}`,
    );
  }
  return ta;
}

async function checkSignature(msg: CoseSign1, key: CryptoKey, what: string): Promise<void> {
  try {
    await verifyCoseSign1(msg, key, what);
  } catch (err) {
    if (!(err instanceof CoseError)) throw err;
    const code = err.code === "bad-signature" ? "bad-signature" : "bad-evidence";
    throw new VerifierError(code, `${RAK_UNVERIFIED}: ${err.message}`, { cause: err });
  }
}

async function realmKey(token: CcaToken): Promise<CryptoKey> {
  const { rak, rakIsCoseKey } = token.realmClaims;
  try {
    return rakIsCoseKey
      ? await importCoseKey(rak, "realm public key (RAK)")
      : await importRawPoint(rak, "P-384", "realm public key (RAK)");
  } catch (err) {
    if (!(err instanceof CoseError)) throw err;
    throw new VerifierError("bad-evidence", `${RAK_UNVERIFIED}: ${err.message}`, { cause: err });
  }
}

async function checkBinding(token: CcaToken): Promise<void> {
  const { rak, rakHashAlg } = token.realmClaims;
  const alg = HASHES[rakHashAlg as keyof typeof HASHES];
  const digest = new Uint8Array(await crypto.subtle.digest(alg, ab(rak)));
  if (!bytesEqual(digest, token.platformClaims.challenge)) {
    throw new VerifierError(
      "bad-signature",
      `${RAK_UNVERIFIED}: platform challenge ${token.platformClaims.challenge.toHex()} is not the ${rakHashAlg} digest of the realm public key (RAK), ${digest.toHex()}`,
    );
  }
}

/** Decodes and verifies a CCA token; see the module documentation for the order of checks. */
export async function verifyCcaToken(
  bytes: Uint8Array,
  params: CcaVerifyParams,
): Promise<CcaVerified> {
  const token = decode(bytes);
  const ta = findAnchor(token, params.trustAnchors);
  const cpak = await cpakKey(ta).catch((err: unknown) => {
    throw new VerifierError("collateral-unavailable", (err as Error).message, { cause: err });
  });
  await checkSignature(
    token.platform,
    cpak,
    `platform token (instance id ${ta.instanceId.toHex()})`,
  );
  const rak = await realmKey(token);
  await checkSignature(token.realm, rak, "realm token");
  await checkBinding(token);
  const want = params.expectedChallenge;
  if (want && !bytesEqual(want, token.realmClaims.challenge)) {
    throw new VerifierError(
      "report-data-mismatch",
      `realm token challenge claim does not match expected_report_data (token ${token.realmClaims.challenge.toHex()}, expected ${want.toHex()})`,
    );
  }
  const out: CcaVerified = { token };
  if (params.refValues) {
    out.appraisal = appraiseCca(params.refValues, token.platformClaims, token.realmClaims);
  }
  return out;
}
