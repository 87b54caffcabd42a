/**
 * The KBS resource JWE (flattened JSON serialization, spec/trustee.md §2.3, spec/guest.md §2.4):
 * A256GCM content encryption with AAD = the ASCII `protected` string, CEK wrapped with
 * `ECDH-ES+A256KW` (P-256/P-384/P-521), `RSA-OAEP-256` or `RSA1_5` (deprecated).
 *
 * The protected header is written compactly with `alg`, `enc` first and `epk` members sorted
 * (`crv`,`kty`,`x`,`y`) because the Rust guest re-serializes the parsed header to compute the AAD.
 *
 * Cost (this is on every resource fetch): the elliptic-curve work stays on WebCrypto (fastest here
 * for a fresh ephemeral key), the rest (CEK, Concat KDF, AES-KW, AES-GCM) is synchronous
 * node:crypto, which costs a fraction of WebCrypto's asynchronous operations at these sizes.
 */
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  publicEncrypt,
} from "node:crypto";
import { concat } from "../bytes.ts";
import { aesKeyUnwrap, aesKeyWrap } from "./_aes_kw.ts";
import { concatKdf, COORD, ecdhSecret, ephemeralPublicJwk, nativeEphemeralEcdh } from "./_ecdh.ts";
import { CodedError } from "../errors.ts";
import { obj, str } from "../json/fields.ts";
import type { TeePubKey } from "../kbs/types.ts";

export class JweError extends CodedError<"unsupported-key" | "bad-jwe" | "decrypt-failed"> {}

/** Flattened JWE as the KBS sends it (no `aad` member). */
export interface FlattenedJwe {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
  aad?: string;
}

const enc = new TextEncoder();
const b64u = (b: Uint8Array) => b.toBase64({ alphabet: "base64url", omitPadding: true });
const unb64u = (s: string, what: string) => {
  try {
    return Uint8Array.fromBase64(s, { alphabet: "base64url" });
  } catch (err) {
    throw new JweError("bad-jwe", `Cannot decode JWE: ${what} is not base64url`, { cause: err });
  }
};

/** AES-256-GCM with AAD = the ASCII `protected` member; returns the JWE members. */
function sealContent(header: string, cek: Uint8Array, plaintext: Uint8Array, wrapped: Uint8Array) {
  const protectedB64 = b64u(enc.encode(header));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const gcm = createCipheriv("aes-256-gcm", cek, iv);
  gcm.setAAD(enc.encode(protectedB64));
  const ciphertext = concat(gcm.update(plaintext), gcm.final());
  return {
    protected: protectedB64,
    encrypted_key: b64u(wrapped),
    iv: b64u(iv),
    ciphertext: b64u(ciphertext),
    tag: b64u(gcm.getAuthTag()),
  };
}

/** Runs `f`, turning any error into the one `wrap` makes. */
function tryNative<T>(f: () => T, wrap: (err: Error) => Error): T {
  try {
    return f();
  } catch (err) {
    throw wrap(err as Error);
  }
}

/** Encrypts `plaintext` to the TEE public key. Unsupported (kty, crv, alg) → `unsupported-key`. */
export async function encryptResource(
  teePubKey: TeePubKey,
  plaintext: Uint8Array,
): Promise<FlattenedJwe> {
  const cek = crypto.getRandomValues(new Uint8Array(32));
  if (teePubKey.kty === "EC" && teePubKey.alg === "ECDH-ES+A256KW" && teePubKey.crv in COORD) {
    const crv = teePubKey.crv;
    const peer = { kty: "EC", crv, x: teePubKey.x, y: teePubKey.y };
    const invalid = (err: Error) =>
      new JweError(
        "unsupported-key",
        `Cannot encrypt resource: invalid EC tee-pubkey (${err.message})`,
        { cause: err },
      );
    let epk: { x: string; y: string };
    let z: Uint8Array;
    const native = crv === "P-256"
      ? tryNative(() => nativeEphemeralEcdh(peer), invalid)
      : undefined;
    if (native) {
      ({ secret: z, ...epk } = native);
    } else {
      const eph = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: crv }, true, [
        "deriveBits",
      ]);
      epk = await ephemeralPublicJwk(eph, crv);
      z = await ecdhSecret(eph.privateKey, undefined, peer, crv).catch((err) => {
        throw invalid(err);
      });
    }
    const header = JSON.stringify({
      alg: "ECDH-ES+A256KW",
      enc: "A256GCM",
      epk: { crv, kty: "EC", x: epk.x, y: epk.y },
    });
    return sealContent(header, cek, plaintext, aesKeyWrap(concatKdf(z), cek));
  }
  if (teePubKey.kty === "RSA" && (teePubKey.alg === "RSA-OAEP-256" || teePubKey.alg === "RSA1_5")) {
    const jwk = { kty: "RSA", n: teePubKey.n, e: teePubKey.e };
    let wrapped: Uint8Array;
    try {
      if (teePubKey.alg === "RSA-OAEP-256") {
        const pub = await crypto.subtle.importKey(
          "jwk",
          { ...jwk, alg: "RSA-OAEP-256" },
          { name: "RSA-OAEP", hash: "SHA-256" },
          false,
          ["encrypt"],
        );
        wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, pub, cek));
      } else {
        const pub = createPublicKey({ key: jwk, format: "jwk" });
        wrapped = new Uint8Array(
          publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, cek),
        );
      }
    } catch (err) {
      throw new JweError(
        "unsupported-key",
        `Cannot encrypt resource: invalid RSA tee-pubkey (${(err as Error).message})`,
        { cause: err },
      );
    }
    return sealContent(
      JSON.stringify({ alg: teePubKey.alg, enc: "A256GCM" }),
      cek,
      plaintext,
      wrapped,
    );
  }
  const what = teePubKey.kty === "EC"
    ? `EC ${teePubKey.crv} ${teePubKey.alg}`
    : `RSA ${teePubKey.alg}`;
  throw new JweError("unsupported-key", `Cannot encrypt resource: unsupported tee-pubkey ${what}`);
}

/** Parses a flattened JWE body (guest side). */
export function parseFlattenedJwe(input: unknown): FlattenedJwe {
  try {
    const o = obj(input, "JWE");
    return {
      protected: str(o.protected, "protected"),
      encrypted_key: str(o.encrypted_key, "encrypted_key"),
      iv: str(o.iv, "iv"),
      ciphertext: str(o.ciphertext, "ciphertext"),
      tag: str(o.tag, "tag"),
    };
  } catch (err) {
    throw new JweError("bad-jwe", `Cannot parse JWE: ${(err as Error).message}`, { cause: err });
  }
}

/** Decrypts a resource JWE with the TEE private key. AAD is the received `protected` string. */
export async function decryptResource(
  jwe: FlattenedJwe,
  privateKey: CryptoKey,
  privateJwk: JsonWebKey,
): Promise<Uint8Array> {
  let header: Record<string, unknown>;
  const headerBytes = unb64u(jwe.protected, "protected");
  try {
    header = obj(JSON.parse(new TextDecoder().decode(headerBytes)), "header");
  } catch (err) {
    throw new JweError("bad-jwe", `Cannot decrypt resource: protected header is not JSON`, {
      cause: err,
    });
  }
  if (header.enc !== "A256GCM") {
    throw new JweError(
      "bad-jwe",
      `Cannot decrypt resource: unsupported enc ${JSON.stringify(header.enc)}`,
    );
  }
  const wrapped = unb64u(jwe.encrypted_key, "encrypted_key");
  let cek: Uint8Array;
  try {
    if (header.alg === "ECDH-ES+A256KW") {
      const epk = obj(header.epk, "epk");
      if (epk.crv !== privateJwk.crv) {
        throw new Error(`epk curve ${String(epk.crv)} does not match the key`);
      }
      const z = await ecdhSecret(privateKey, privateJwk, {
        kty: "EC",
        crv: String(epk.crv),
        x: str(epk.x, "epk.x"),
        y: str(epk.y, "epk.y"),
      }, String(epk.crv));
      cek = aesKeyUnwrap(concatKdf(z), wrapped);
    } else if (header.alg === "RSA-OAEP-256") {
      cek = new Uint8Array(await crypto.subtle.decrypt({ name: "RSA-OAEP" }, privateKey, wrapped));
    } else {
      throw new Error(`unsupported alg ${JSON.stringify(header.alg)}`);
    }
  } catch (err) {
    throw new JweError(
      "decrypt-failed",
      `Cannot decrypt resource: key unwrap failed (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
  const ciphertext = unb64u(jwe.ciphertext, "ciphertext");
  const tag = unb64u(jwe.tag, "tag");
  const iv = unb64u(jwe.iv, "iv");
  for (const [what, got, want] of [["CEK", cek, 32], ["iv", iv, 12], ["tag", tag, 16]] as const) {
    if (got.length !== want) {
      throw new JweError(
        "bad-jwe",
        `Cannot decrypt resource: ${what} is ${got.length} bytes, A256GCM needs ${want}`,
      );
    }
  }
  try {
    const gcm = createDecipheriv("aes-256-gcm", cek, iv);
    gcm.setAAD(enc.encode(jwe.protected));
    gcm.setAuthTag(tag);
    return concat(gcm.update(ciphertext), gcm.final());
  } catch (err) {
    throw new JweError(
      "decrypt-failed",
      "Cannot decrypt resource: authentication tag does not match",
      {
        cause: err,
      },
    );
  }
}
