/**
 * JWT verification with upstream's (jsonwebtoken) semantics: signature over the header `alg`,
 * `exp` required and checked with 60 s leeway, `nbf` and `aud` not checked here.
 */
import { compactVerify, decodeProtectedHeader } from "jose";
import { errorMessage } from "@coco/lib/errors";
import type { TrustedKey } from "./_keys.ts";

/** Leeway applied to `exp`, in seconds (jsonwebtoken's default). */
export const EXP_LEEWAY_SECONDS = 60;

const decoder = new TextDecoder();

/**
 * Verifies `token` with the first of `keys` whose signature checks, then the `exp` claim
 * against `nowMs`. Returns the payload object; throws an `Error` saying why otherwise.
 */
export async function verifyJwt(
  token: string,
  keys: readonly TrustedKey[],
  nowMs: number,
): Promise<Record<string, unknown>> {
  const header = decodeProtectedHeader(token);
  const alg = header.alg;
  if (typeof alg !== "string") throw new Error("token header has no alg");
  const candidates = keys.filter((k) =>
    k.algorithms.includes(alg) &&
    (header.kid === undefined || k.kid === undefined || k.kid === header.kid)
  );
  if (candidates.length === 0) {
    throw new Error(
      `no trusted key for alg ${alg}${header.kid === undefined ? "" : ` and kid ${header.kid}`}`,
    );
  }
  let payload: Uint8Array | undefined;
  let lastError: unknown;
  for (const key of candidates) {
    try {
      payload =
        (await compactVerify(token, await key.cryptoKey(alg), { algorithms: [alg] })).payload;
      break;
    } catch (err) {
      lastError = err;
    }
  }
  if (payload === undefined) {
    throw new Error(
      `signature verification failed: ${errorMessage(lastError)}`,
    );
  }
  const claims: unknown = JSON.parse(decoder.decode(payload));
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw new Error("token payload is not a JSON object");
  }
  const exp = (claims as { exp?: unknown }).exp;
  if (typeof exp !== "number" || !Number.isFinite(exp)) {
    throw new Error("token has no numeric exp claim");
  }
  if (exp < Math.floor(nowMs / 1000) - EXP_LEEWAY_SECONDS) {
    throw new Error(`token expired at ${exp}`);
  }
  return claims as Record<string, unknown>;
}
