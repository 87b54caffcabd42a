/**
 * Verification of attestation tokens presented to the KBS (`[attestation_token]`,
 * spec/trustee.md §5.5): the header `jwk` endorsed by an `x5c` chain to a trusted certificate,
 * a `kid` from trusted JWK sets, or (insecure) the header `jwk` as is. The key's `alg` member is
 * required and decides the algorithm; `exp` is required (60 s leeway).
 *
 * Beyond upstream: the built-in attestation service's own signing key is always trusted, so the
 * default configuration needs no insecure setting.
 */
import { X509Certificate } from "node:crypto";
import * as jose from "jose";
import type { JsonValue } from "@coco/lib/json";
import { isJsonObject } from "@coco/lib/json";
import { KbsError } from "@coco/lib/kbs";
import { verifyEs256Jwt } from "@coco/lib/jose";
import type { AttestationTokenConfig } from "./config.ts";

export interface TokenVerifier {
  verify(token: string): Promise<Record<string, JsonValue>>;
  /**
   * Records a token this replica's own attestation service has just signed, so its first use
   * needs no signature check (its `exp` is still enforced on every use). `claims`, when given,
   * must be exactly the signed payload; otherwise the token is decoded.
   */
  remember?(token: string, claims?: Record<string, JsonValue>): void;
}

type Claims = Record<string, JsonValue>;

/** Verified tokens by their exact text, bounded (oldest dropped first). */
class VerifiedCache {
  readonly #map = new Map<string, Claims>();
  constructor(private readonly max = 4096) {}

  get(token: string, nowSec: number): Claims | undefined {
    const claims = this.#map.get(token);
    if (claims === undefined) return undefined;
    const exp = claims.exp;
    // Same rule as jwtVerify with a 60 s clock tolerance.
    if (typeof exp !== "number" || exp + 60 <= nowSec) {
      this.#map.delete(token);
      return undefined;
    }
    return claims;
  }

  set(token: string, claims: Claims): void {
    if (this.#map.size >= this.max) this.#map.delete(this.#map.keys().next().value!);
    this.#map.set(token, claims);
  }
}

type Jwk = jose.JWK & { alg?: string; kid?: string };

function pemBlocks(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

function sameKey(cert: X509Certificate, jwk: Jwk): boolean {
  const certJwk = cert.publicKey.export({ format: "jwk" }) as Jwk;
  if (certJwk.kty !== jwk.kty) return false;
  if (jwk.kty === "EC") {
    return certJwk.crv === jwk.crv && certJwk.x === jwk.x && certJwk.y === jwk.y;
  }
  if (jwk.kty === "RSA") return certJwk.n === jwk.n && certJwk.e === jwk.e;
  return false;
}

/** Validates `chain[0]` up to one of `anchors`, using the rest of `chain` as intermediates. */
export function validateChain(
  chain: X509Certificate[],
  anchors: X509Certificate[],
  nowMs: number,
): boolean {
  const pool = chain.slice(1);
  let current = chain[0];
  for (let depth = 0; current && depth < 10; depth++) {
    const cur: X509Certificate = current;
    const now = new Date(nowMs);
    if (new Date(cur.validFrom) > now || new Date(cur.validTo) < now) return false;
    if (anchors.some((a) => a.raw.equals(cur.raw))) return true;
    const anchor = anchors.find((a) => cur.checkIssued(a) && cur.verify(a.publicKey));
    if (anchor) return true;
    const next = pool.find((c) => cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!next || next.raw.equals(cur.raw)) return false;
    current = next;
  }
  return false;
}

/**
 * Why a header JWK is not endorsed by `anchors` through its `x5c` chain, or undefined when it is:
 * the leaf must hold the JWK and the chain must lead to a trusted certificate.
 */
export function endorsementFailure(
  jwk: Jwk,
  anchors: X509Certificate[],
  nowMs: number,
): string | undefined {
  if (anchors.length === 0) {
    return "the token's header jwk is not endorsed by any trusted certificate";
  }
  const x5c = (jwk as { x5c?: unknown }).x5c;
  if (!Array.isArray(x5c) || x5c.length === 0) return "the token's header jwk has no x5c chain";
  let chain: X509Certificate[];
  try {
    chain = x5c.map((c) => new X509Certificate(Uint8Array.fromBase64(String(c))));
  } catch {
    return "the x5c chain cannot be parsed";
  }
  if (!sameKey(chain[0]!, jwk)) return "the x5c leaf certificate does not hold the header jwk";
  if (!validateChain(chain, anchors, nowMs)) {
    return "the x5c chain does not lead to a trusted certificate";
  }
  return undefined;
}

/** Parses every certificate of a PEM bundle. */
export function pemCertificates(pem: string): X509Certificate[] {
  return pemBlocks(pem);
}

async function loadJwkSet(uri: string): Promise<Jwk[]> {
  let text: string;
  if (/^https?:\/\//.test(uri)) {
    const res = await fetch(uri);
    text = await res.text();
  } else {
    text = await Deno.readTextFile(uri.replace(/^file:\/\//, ""));
  }
  const parsed = JSON.parse(text) as unknown;
  if (!isJsonObject(parsed) || !Array.isArray(parsed.keys)) {
    throw new TypeError(`${uri} is not a JWK set`);
  }
  return parsed.keys as Jwk[];
}

export interface TokenVerifierOptions {
  /** Keys trusted directly (the built-in AS signer). */
  trustedKeys?: Jwk[];
  now?: () => number;
}

/** Builds the verifier at start-up; refuses configurations that could verify nothing. */
export async function createTokenVerifier(
  config: AttestationTokenConfig,
  options: TokenVerifierOptions = {},
): Promise<TokenVerifier> {
  const now = options.now ?? Date.now;
  const anchors = (await Promise.all(
    config.trusted_certs_paths.map(async (p) => pemBlocks(await Deno.readTextFile(p))),
  ))
    .flat();
  const jwkSets = (await Promise.all(config.trusted_jwk_sets.map(loadJwkSet))).flat();
  const trusted = options.trustedKeys ?? [];
  if (
    anchors.length === 0 && jwkSets.length === 0 && !config.insecure_header_jwk &&
    trusted.length === 0
  ) {
    throw new KbsError(
      "TokenVerifierError",
      "Cannot verify token since no trusted verification materials are provided",
    );
  }
  const fail = (why: string, cause?: unknown) =>
    new KbsError(
      "TokenVerifierError",
      `Token Verifier error: ${why}`,
      cause ? { cause } : undefined,
    );

  const pickKey = (header: jose.ProtectedHeaderParameters): Jwk => {
    const hjwk = header.jwk as Jwk | undefined;
    if (hjwk) {
      if (
        trusted.some((k) =>
          k.kty === hjwk.kty && k.x === hjwk.x && k.y === hjwk.y && k.n === hjwk.n
        )
      ) return hjwk;
      if (config.insecure_header_jwk) return hjwk;
      const why = endorsementFailure(hjwk, anchors, now());
      if (why) throw fail(why);
      return hjwk;
    }
    if (!header.kid) throw fail("the token has neither a header jwk nor a kid");
    const found = jwkSets.find((k) => k.kid === header.kid);
    if (!found) throw fail(`kid ${header.kid} is not in any trusted JWK set`);
    return found;
  };

  const verified = new VerifiedCache();
  const keys = new Map<string, Promise<jose.CryptoKey | Uint8Array>>();
  const importKey = (jwk: Jwk, alg: string) => {
    const { x5c: _chain, ...bare } = jwk as Jwk & { x5c?: unknown };
    const id = JSON.stringify([alg, bare.kty, bare.crv, bare.x, bare.y, bare.n, bare.e]);
    let key = keys.get(id);
    if (!key) {
      if (keys.size > 256) keys.clear();
      key = jose.importJWK(bare, alg);
      key.catch(() => keys.delete(id));
      keys.set(id, key);
    }
    return key;
  };

  return {
    remember(token, signed) {
      if (signed) {
        if (typeof signed.exp === "number") verified.set(token, signed);
        return;
      }
      try {
        const claims = jose.decodeJwt(token) as Claims;
        if (typeof claims.exp === "number") verified.set(token, claims);
      } catch {
        // not a JWT: nothing to remember
      }
    },
    async verify(token) {
      const cached = verified.get(token, now() / 1000);
      if (cached) return cached;
      let header: jose.ProtectedHeaderParameters;
      try {
        header = jose.decodeProtectedHeader(token);
      } catch (err) {
        throw fail("the token is not a JWT", err);
      }
      const jwk = pickKey(header);
      const alg = jwk.alg;
      if (!alg) throw fail("the verification key has no alg member");
      if (alg === "ES256") {
        // libcrypto when the system has it (the same checks as jwtVerify below, ~10x faster).
        let fast: Claims | undefined;
        try {
          fast = verifyEs256Jwt(token, header as Record<string, unknown>, jwk, {
            now: now(),
            clockTolerance: 60,
          });
        } catch (err) {
          throw fail((err as Error).message, err);
        }
        if (fast) {
          verified.set(token, fast);
          return fast;
        }
      }
      let payload: jose.JWTPayload;
      try {
        const key = await importKey(jwk, alg);
        ({ payload } = await jose.jwtVerify(token, key, {
          algorithms: [alg],
          clockTolerance: 60,
          currentDate: new Date(now()),
          requiredClaims: ["exp"],
        }));
      } catch (err) {
        if (err instanceof KbsError) throw err;
        throw fail((err as Error).message, err);
      }
      verified.set(token, payload as Claims);
      return payload as Claims;
    },
  };
}
