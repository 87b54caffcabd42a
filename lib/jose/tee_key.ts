/**
 * The guest's ephemeral TEE key pair: EC P-256 (default), EC P-521 or RSA-2048, its public JWK
 * (`tee-pubkey`) and its PEM export (PKCS#8 for EC, PKCS#1 for RSA, as the AA returns it).
 */
import { createPrivateKey } from "node:crypto";
import type { TeePubKey } from "../kbs/types.ts";

/** `tee_key_algorithm` values of `aa.toml`. */
export type TeeKeyAlgorithm = "ECDH-ES+A256KW-P256" | "ECDH-ES+A256KW-P521" | "RSA-OAEP-256";
export const TEE_KEY_ALGORITHMS: readonly TeeKeyAlgorithm[] = [
  "ECDH-ES+A256KW-P256",
  "ECDH-ES+A256KW-P521",
  "RSA-OAEP-256",
];

export interface TeeKeyPair {
  algorithm: TeeKeyAlgorithm;
  publicJwk: TeePubKey;
  privateJwk: JsonWebKey;
  privateKey: CryptoKey;
}

/** Generates a fresh TEE key pair. */
export async function generateTeeKeyPair(
  algorithm: TeeKeyAlgorithm = "ECDH-ES+A256KW-P256",
): Promise<TeeKeyPair> {
  if (algorithm === "RSA-OAEP-256") {
    const pair = await crypto.subtle.generateKey(
      {
        name: "RSA-OAEP",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      true,
      ["decrypt", "encrypt"],
    );
    const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
    return {
      algorithm,
      publicJwk: { kty: "RSA", alg: "RSA-OAEP-256", n: jwk.n!, e: jwk.e! },
      privateJwk,
      privateKey: pair.privateKey,
    };
  }
  const crv = algorithm === "ECDH-ES+A256KW-P521" ? "P-521" : "P-256";
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: crv }, true, [
    "deriveBits",
  ]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  return {
    algorithm,
    publicJwk: { kty: "EC", crv, alg: "ECDH-ES+A256KW", x: jwk.x!, y: jwk.y! },
    privateJwk,
    privateKey: pair.privateKey,
  };
}

/** PEM of the private key: `BEGIN PRIVATE KEY` (PKCS#8) for EC, `BEGIN RSA PRIVATE KEY` for RSA. */
export function teeKeyToPem(pair: TeeKeyPair): string {
  const key = createPrivateKey({ key: { ...pair.privateJwk }, format: "jwk" });
  const type = pair.publicJwk.kty === "RSA" ? "pkcs1" : "pkcs8";
  return key.export({ type, format: "pem" }).toString();
}

/** Loads a TEE private key from PEM (RSA PKCS#1/PKCS#8 or EC P-256/P-521 PKCS#8). */
export async function teeKeyFromPem(pem: string): Promise<TeeKeyPair> {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new TypeError(
      `Cannot load TEE private key: not a PEM private key (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  const jwk = key.export({ format: "jwk" }) as JsonWebKey;
  if (jwk.kty === "RSA") {
    const privateKey = await crypto.subtle.importKey(
      "jwk",
      { ...jwk, alg: "RSA-OAEP-256" },
      {
        name: "RSA-OAEP",
        hash: "SHA-256",
      },
      true,
      ["decrypt"],
    );
    return {
      algorithm: "RSA-OAEP-256",
      publicJwk: { kty: "RSA", alg: "RSA-OAEP-256", n: jwk.n!, e: jwk.e! },
      privateJwk: jwk,
      privateKey,
    };
  }
  if (jwk.kty === "EC" && (jwk.crv === "P-256" || jwk.crv === "P-521")) {
    const privateKey = await crypto.subtle.importKey(
      "jwk",
      jwk,
      { name: "ECDH", namedCurve: jwk.crv },
      true,
      [
        "deriveBits",
      ],
    );
    return {
      algorithm: jwk.crv === "P-521" ? "ECDH-ES+A256KW-P521" : "ECDH-ES+A256KW-P256",
      publicJwk: { kty: "EC", crv: jwk.crv, alg: "ECDH-ES+A256KW", x: jwk.x!, y: jwk.y! },
      privateJwk: jwk,
      privateKey,
    };
  }
  throw new TypeError(
    `Cannot load TEE private key: unsupported key type ${jwk.kty} ${jwk.crv ?? ""}`,
  );
}
