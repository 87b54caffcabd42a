/**
 * The JWE key wrapper (`org.opencontainers.image.enc.keys.jwe`, spec/guest.md §7.3): the private
 * options JSON is the plaintext of a JWE (JSON serialization, flattened for one recipient, general
 * for several) whose CEK is wrapped per recipient with `RSA-OAEP` (SHA-1, what skopeo writes for
 * RSA keys), `RSA-OAEP-256` or `ECDH-ES+A128KW/A192KW/A256KW`.
 */
import * as jose from "jose";
import { isJsonObject } from "@coco/lib/json";
import { OcicryptError } from "./errors.ts";
import type { JwePrivateKey } from "./keys.ts";

const KEY_ALGS = [
  "RSA-OAEP",
  "RSA-OAEP-256",
  "ECDH-ES+A128KW",
  "ECDH-ES+A192KW",
  "ECDH-ES+A256KW",
] as const;
const CONTENT_ALGS = [
  "A128GCM",
  "A192GCM",
  "A256GCM",
  "A128CBC-HS256",
  "A192CBC-HS384",
  "A256CBC-HS512",
];

/** A public key to wrap for: RSA → `RSA-OAEP` (as skopeo), EC → `ECDH-ES+A256KW`. */
export interface JweRecipient {
  /** Public JWK; its `alg` (if one of the supported algorithms) overrides the default. */
  jwk: JsonWebKey;
}

function defaultAlg(jwk: JsonWebKey): (typeof KEY_ALGS)[number] {
  if (jwk.alg && (KEY_ALGS as readonly string[]).includes(jwk.alg)) {
    return jwk.alg as (typeof KEY_ALGS)[number];
  }
  if (jwk.kty === "RSA") return "RSA-OAEP";
  if (jwk.kty === "EC") return "ECDH-ES+A256KW";
  throw new OcicryptError("bad-key", `Cannot wrap for a ${jwk.kty} key: use an RSA or EC key`);
}

/** Wraps the private options for every recipient into one JWE (JSON), as go-jose does. */
export async function wrapJwe(
  plaintext: Uint8Array,
  recipients: readonly JweRecipient[],
): Promise<Uint8Array> {
  if (recipients.length === 0) {
    throw new OcicryptError("no-key", "Cannot wrap the layer key: no JWE recipient given");
  }
  const publicOnly = (jwk: JsonWebKey): JsonWebKey => {
    const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
    return pub;
  };
  let out: unknown;
  if (recipients.length === 1) {
    const jwk = publicOnly(recipients[0]!.jwk);
    const alg = defaultAlg(jwk);
    out = await new jose.FlattenedEncrypt(plaintext)
      .setProtectedHeader({ alg, enc: "A256GCM" })
      .encrypt(await jose.importJWK({ ...jwk, alg }, alg));
  } else {
    const enc = new jose.GeneralEncrypt(plaintext).setProtectedHeader({ enc: "A256GCM" });
    for (const r of recipients) {
      const jwk = publicOnly(r.jwk);
      const alg = defaultAlg(jwk);
      enc.addRecipient(await jose.importJWK({ ...jwk, alg }, alg)).setUnprotectedHeader({ alg });
    }
    out = await enc.encrypt();
  }
  return new TextEncoder().encode(JSON.stringify(out));
}

function parseJwe(bytes: Uint8Array, what: string): jose.GeneralJWE {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new OcicryptError("bad-annotation", `Cannot parse ${what}: not JWE JSON`, {
      cause: err,
    });
  }
  if (!isJsonObject(v) || typeof v["ciphertext"] !== "string" || typeof v["iv"] !== "string") {
    throw new OcicryptError("bad-annotation", `Cannot parse ${what}: not a JWE JSON serialization`);
  }
  if (Array.isArray(v["recipients"])) return v as unknown as jose.GeneralJWE;
  // Flattened → general with one recipient, so one code path decrypts both.
  const { encrypted_key, header, ...rest } = v;
  const recipient: Record<string, unknown> = {};
  if (encrypted_key !== undefined) recipient["encrypted_key"] = encrypted_key;
  if (header !== undefined) recipient["header"] = header;
  return { ...rest, recipients: [recipient] } as unknown as jose.GeneralJWE;
}

/**
 * Unwraps the private options from one JWE, trying each key against each recipient.
 * Returns `undefined` when no key fits (the caller reports the overall failure).
 */
export async function unwrapJwe(
  bytes: Uint8Array,
  keys: readonly JwePrivateKey[],
  what: string,
): Promise<{ plaintext: Uint8Array } | { failures: string[] }> {
  const jwe = parseJwe(bytes, what);
  const failures: string[] = [];
  for (const key of keys) {
    try {
      const { plaintext } = await jose.generalDecrypt(jwe, async (protectedHeader, token) => {
        // alg sits in the protected header (flattened) or the recipient header (general).
        const alg = protectedHeader?.alg ?? token.header?.alg ?? token.unprotected?.alg ?? "";
        if (!(KEY_ALGS as readonly string[]).includes(alg)) {
          throw new OcicryptError("no-key", `unsupported JWE alg ${JSON.stringify(alg)}`);
        }
        if ((key.kty === "RSA") !== alg.startsWith("RSA")) {
          throw new OcicryptError("no-key", `a ${key.kty} key cannot unwrap ${alg}`);
        }
        return await jose.importJWK({ ...key.jwk, alg }, alg) as CryptoKey;
      }, {
        keyManagementAlgorithms: [...KEY_ALGS],
        contentEncryptionAlgorithms: CONTENT_ALGS,
        maxDecompressedLength: 0,
      });
      return { plaintext };
    } catch (err) {
      failures.push(`${key.source}: ${(err as Error).message}`);
    }
  }
  return { failures };
}
