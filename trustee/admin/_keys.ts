/**
 * Loading of admin token verification keys at start-up: PEM SPKI public keys
 * (`public_key_uri`) and JWK sets (`jwk_set_uri`, with OpenID discovery fallback).
 */
import { exportJWK, importJWK, importSPKI, type JWK } from "jose";
import { errorMessage } from "@coco/lib/errors";

/** Effects used to fetch key material (injected for tests). */
export interface KeySourceDeps {
  readTextFile(path: string): Promise<string>;
  fetch(url: string): Promise<Response>;
}

/** A verification key and the JWS algorithms it may be used with. */
export interface TrustedKey {
  /** `kid` of a JWK; PEM keys have none and are tried for any `kid`. */
  readonly kid: string | undefined;
  readonly algorithms: readonly string[];
  /** Where the key came from (for logs). */
  readonly source: string;
  cryptoKey(alg: string): Promise<CryptoKey>;
}

/** Reads `uri`: `https://` via fetch, `file://` or a plain path from disk; `http://` is refused. */
export async function readUri(uri: string, deps: KeySourceDeps): Promise<string> {
  if (uri.startsWith("https://")) {
    const res = await deps.fetch(uri);
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`GET ${uri} returned HTTP ${res.status}`);
    }
    return await res.text();
  }
  if (uri.startsWith("http://")) {
    throw new Error("plain http:// key sources are not allowed; use https://");
  }
  const path = uri.startsWith("file://") ? decodeURIComponent(new URL(uri).pathname) : uri;
  return await deps.readTextFile(path);
}

function algorithmsOf(jwk: JWK): string[] {
  if (jwk.kty === "EC" && jwk.crv === "P-256") return ["ES256"];
  if (jwk.kty === "EC" && jwk.crv === "P-384") return ["ES384"];
  if (jwk.kty === "RSA") return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return ["EdDSA", "Ed25519"];
  return [];
}

function keyFromJwk(
  jwk: JWK,
  kid: string | undefined,
  algorithms: string[],
  source: string,
): TrustedKey {
  const cache = new Map<string, Promise<CryptoKey>>();
  return {
    kid,
    algorithms,
    source,
    cryptoKey(alg) {
      let key = cache.get(alg);
      if (!key) {
        key = importJWK(jwk, alg).then((k) => {
          if (k instanceof Uint8Array) throw new Error("symmetric keys are not supported");
          return k as CryptoKey;
        });
        cache.set(alg, key);
      }
      return key;
    },
  };
}

/**
 * Parses a PEM SPKI public key, trying EC (P-256, P-384), then RSA, then Ed25519 as upstream.
 * The JWS algorithm is later taken from the token header, within the key type's algorithms.
 */
export async function parsePemPublicKey(pem: string, source: string): Promise<TrustedKey> {
  for (const probe of ["ES256", "ES384", "RS256", "EdDSA"]) {
    let jwk: JWK;
    try {
      jwk = await exportJWK(await importSPKI(pem.trim(), probe, { extractable: true }));
    } catch {
      continue;
    }
    return keyFromJwk(jwk, undefined, algorithmsOf(jwk), source);
  }
  throw new Error("not a PEM SPKI EC (P-256/P-384), RSA or Ed25519 public key");
}

function isJwks(value: unknown): value is { keys: unknown[] } {
  return typeof value === "object" && value !== null &&
    Array.isArray((value as { keys?: unknown }).keys);
}

function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Keys of a JWK set; entries without `alg` (required upstream) or of unknown type are skipped. */
export function parseJwks(
  jwks: { keys: unknown[] },
  source: string,
  warn: (msg: string) => void,
): TrustedKey[] {
  const keys: TrustedKey[] = [];
  jwks.keys.forEach((entry, i) => {
    const jwk = entry as JWK;
    if (typeof entry !== "object" || entry === null || typeof jwk.alg !== "string") {
      warn(`JWK #${i} of ${source} has no "alg" member; skipped`);
      return;
    }
    if (!algorithmsOf(jwk).includes(jwk.alg)) {
      warn(
        `JWK #${i} of ${source} has unsupported kty/crv/alg ${jwk.kty}/${jwk.crv}/${jwk.alg}; skipped`,
      );
      return;
    }
    keys.push(
      keyFromJwk(jwk, typeof jwk.kid === "string" ? jwk.kid : undefined, [jwk.alg], source),
    );
  });
  if (keys.length === 0) {
    throw new Error("the JWK set holds no usable key (each key needs a supported alg)");
  }
  return keys;
}

/**
 * Loads a JWK set from `uri`. When `uri` is not a JWK set, tries OpenID discovery:
 * `<uri>/.well-known/openid-configuration` → `jwks_uri`.
 */
export async function loadJwks(
  uri: string,
  deps: KeySourceDeps,
  warn: (msg: string) => void,
): Promise<TrustedKey[]> {
  let direct: unknown;
  let directError: unknown;
  try {
    direct = jsonOrUndefined(await readUri(uri, deps));
  } catch (err) {
    directError = err;
  }
  if (isJwks(direct)) return parseJwks(direct, uri, warn);
  const discovery = `${uri.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let config: unknown;
  try {
    config = jsonOrUndefined(await readUri(discovery, deps));
  } catch (err) {
    const first = directError === undefined ? "not a JWK set; " : `${errorMessage(directError)}; `;
    throw new Error(`${first}OpenID discovery at ${discovery} failed: ${errorMessage(err)}`);
  }
  const jwksUri = (config as { jwks_uri?: unknown } | undefined)?.jwks_uri;
  if (typeof jwksUri !== "string") {
    throw new Error(`not a JWK set, and ${discovery} has no jwks_uri`);
  }
  const jwks = jsonOrUndefined(await readUri(jwksUri, deps));
  if (!isJwks(jwks)) throw new Error(`${jwksUri} (jwks_uri of ${discovery}) is not a JWK set`);
  return parseJwks(jwks, jwksUri, warn);
}
