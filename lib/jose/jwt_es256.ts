/**
 * ES256 JWT verification through libcrypto (`_libcrypto.ts`) for the KBS's hot path: a token minted
 * by another replica is checked once per replica, and WebCrypto's portable P-256 makes that about
 * 0.5 ms. The checks are the ones `jose.jwtVerify(token, key, { algorithms: ["ES256"],
 * clockTolerance, currentDate, requiredClaims: ["exp"] })` makes, in the same order and with the
 * same inequalities (a test compares both on the same tokens); anything unusual in the header
 * (`crit`, `b64`, another `alg`) returns `undefined` so the caller uses jose itself.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { JsonValue } from "../json/mod.ts";
import { libcrypto, type NativePublicKey } from "./_libcrypto.ts";

/** Why a token was refused (the message says which check). */
export class JwtVerifyError extends Error {}

/** Options, as given to `jose.jwtVerify`. */
export interface Es256VerifyOptions {
  /** Current time in ms. */
  now: number;
  /** Seconds of clock skew allowed for `exp` / `nbf`. */
  clockTolerance: number;
}

const B64U = /^[A-Za-z0-9_-]*$/;
const keys = new Map<string, NativePublicKey>();

function publicKeyFor(jwk: JsonWebKey): NativePublicKey | undefined {
  const lib = libcrypto();
  if (!lib || jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) return undefined;
  const id = `${jwk.x}.${jwk.y}`;
  let key = keys.get(id);
  if (!key) {
    const x = Uint8Array.fromBase64(jwk.x, { alphabet: "base64url" });
    const y = Uint8Array.fromBase64(jwk.y, { alphabet: "base64url" });
    if (x.length !== 32 || y.length !== 32) return undefined;
    const point = new Uint8Array(65);
    point[0] = 4;
    point.set(x, 1);
    point.set(y, 33);
    if (keys.size >= 64) {
      const [oldest, k] = keys.entries().next().value!;
      keys.delete(oldest);
      k.free();
    }
    key = lib.publicKey(point);
    keys.set(id, key);
  }
  return key;
}

/**
 * Verifies a compact ES256 JWT with `jwk` and returns its claims; `undefined` when this path does
 * not apply (no libcrypto, not a P-256 key, a header jose treats specially). Throws
 * {@linkcode JwtVerifyError} when the token is invalid.
 */
export function verifyEs256Jwt(
  token: string,
  header: Record<string, unknown>,
  jwk: JsonWebKey,
  opts: Es256VerifyOptions,
): Record<string, JsonValue> | undefined {
  if (header.alg !== "ES256" || "crit" in header || "b64" in header) return undefined;
  const key = publicKeyFor(jwk);
  if (!key) return undefined;
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => B64U.test(p))) {
    throw new JwtVerifyError("Invalid Compact JWS");
  }
  const sig = Uint8Array.fromBase64(parts[2]!, { alphabet: "base64url" });
  const digest = createHash("sha256").update(`${parts[0]}.${parts[1]}`).digest();
  if (!key.verifyDigest(digest, sig)) throw new JwtVerifyError("signature verification failed");
  let payload: unknown;
  try {
    payload = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.fromBase64(parts[1]!, { alphabet: "base64url" }),
      ),
    );
  } catch {
    payload = undefined;
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    throw new JwtVerifyError("JWT Claims Set must be a top-level JSON object");
  }
  const claims = payload as Record<string, JsonValue>;
  if (!("exp" in claims)) throw new JwtVerifyError('missing required "exp" claim');
  const now = Math.floor(opts.now / 1000);
  const tol = opts.clockTolerance;
  if (claims.iat !== undefined && typeof claims.iat !== "number") {
    throw new JwtVerifyError('"iat" claim must be a number');
  }
  if (claims.nbf !== undefined) {
    if (typeof claims.nbf !== "number") throw new JwtVerifyError('"nbf" claim must be a number');
    if (claims.nbf > now + tol) throw new JwtVerifyError('"nbf" claim timestamp check failed');
  }
  if (claims.exp !== undefined) {
    if (typeof claims.exp !== "number") throw new JwtVerifyError('"exp" claim must be a number');
    if (claims.exp <= now - tol) throw new JwtVerifyError('"exp" claim timestamp check failed');
  }
  return claims;
}
