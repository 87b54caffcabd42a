/**
 * Private keys for JWE-wrapped layer keys: PEM (PKCS#1, PKCS#8, SEC1, encrypted PKCS#8 with a
 * password), DER (PKCS#8, PKCS#1, SEC1) or a JWK with `d`, read from a file or fetched as a
 * `kbs:///` resource through the CDH. Parsed once into a private JWK.
 */
import { createPrivateKey, type KeyObject } from "node:crypto";
import { isJsonObject } from "@coco/lib/json";
import { OcicryptError } from "./errors.ts";

/** A private key usable for JWE unwrapping. */
export interface JwePrivateKey {
  /** Private JWK (RSA or EC). */
  jwk: JsonWebKey;
  kty: "RSA" | "EC";
  /** Where it came from (for errors; never the key itself). */
  source: string;
}

function fromKeyObject(key: KeyObject, source: string): JwePrivateKey {
  const jwk = key.export({ format: "jwk" }) as JsonWebKey;
  if (jwk.kty !== "RSA" && jwk.kty !== "EC") {
    throw new OcicryptError(
      "bad-key",
      `Cannot use private key ${source}: ${key.asymmetricKeyType} keys cannot unwrap JWE layer keys`,
    );
  }
  return { jwk, kty: jwk.kty, source };
}

function tryDer(bytes: Uint8Array, source: string, password?: string): KeyObject {
  const errors: string[] = [];
  for (const type of ["pkcs8", "pkcs1", "sec1"] as const) {
    try {
      return createPrivateKey({
        key: Buffer.from(bytes),
        format: "der",
        type,
        ...(password !== undefined ? { passphrase: password } : {}),
      });
    } catch (err) {
      errors.push(`${type}: ${(err as Error).message}`);
    }
  }
  throw new OcicryptError(
    "bad-key",
    `Cannot parse private key ${source}: not a PEM, DER or JWK private key (${errors.join("; ")})`,
  );
}

/**
 * Parses a private key in any supported encoding.
 *
 * @param source names the key in errors (a path or URI).
 * @param password decrypts an encrypted PKCS#8 PEM/DER key.
 */
export function parsePrivateKey(
  bytes: Uint8Array,
  source: string,
  password?: string,
): JwePrivateKey {
  const text = new TextDecoder().decode(bytes).trim();
  if (text.startsWith("{")) {
    let jwk: unknown;
    try {
      jwk = JSON.parse(text);
    } catch (err) {
      throw new OcicryptError("bad-key", `Cannot parse private key ${source}: bad JWK JSON`, {
        cause: err,
      });
    }
    if (!isJsonObject(jwk) || typeof jwk["d"] !== "string") {
      throw new OcicryptError("bad-key", `Cannot parse private key ${source}: JWK has no "d"`);
    }
    try {
      return fromKeyObject(createPrivateKey({ key: jwk, format: "jwk" }), source);
    } catch (err) {
      if (err instanceof OcicryptError) throw err;
      throw new OcicryptError("bad-key", `Cannot parse private key ${source}: ${err}`, {
        cause: err,
      });
    }
  }
  if (text.includes("-----BEGIN")) {
    try {
      return fromKeyObject(
        createPrivateKey({
          key: text,
          format: "pem",
          ...(password !== undefined ? { passphrase: password } : {}),
        }),
        source,
      );
    } catch (err) {
      if (err instanceof OcicryptError) throw err;
      throw new OcicryptError(
        "bad-key",
        `Cannot parse private key ${source}: ${(err as Error).message}` +
          (text.includes("ENCRYPTED") && password === undefined ? " (it needs a password)" : ""),
        { cause: err },
      );
    }
  }
  return fromKeyObject(tryDer(bytes, source, password), source);
}
