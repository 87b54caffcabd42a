/**
 * The KBS resource JWE (flattened JSON serialization, spec/trustee.md §2.3, spec/guest.md §2.4):
 * A256GCM content encryption with AAD = the ASCII `protected` string, CEK wrapped with
 * `ECDH-ES+A256KW` (P-256/P-384/P-521), `RSA-OAEP-256` or `RSA1_5` (deprecated).
 *
 * The protected header is written compactly with `alg`, `enc` first and `epk` members sorted
 * (`crv`,`kty`,`x`,`y`) because the Rust guest re-serializes the parsed header to compute the AAD.
 */
import { constants, createPublicKey, publicEncrypt } from "node:crypto";
import { ab, concat } from "../bytes.ts";
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

const COORD: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/** Concat KDF (NIST SP 800-56A, one round of SHA-256) for ECDH-ES+A256KW. */
async function concatKdf(z: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const alg = enc.encode("ECDH-ES+A256KW");
  // counter(4) ‖ Z ‖ len(alg) ‖ alg ‖ len(apu)=0 ‖ len(apv)=0 ‖ keydatalen=256
  const buf = new Uint8Array(4 + z.length + 4 + alg.length + 12);
  const v = new DataView(buf.buffer);
  v.setUint32(0, 1);
  buf.set(z, 4);
  let o = 4 + z.length;
  v.setUint32(o, alg.length);
  buf.set(alg, o + 4);
  o += 4 + alg.length;
  v.setUint32(o, 0);
  v.setUint32(o + 4, 0);
  v.setUint32(o + 8, 256);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
}

async function ecdhKek(priv: CryptoKey, pubJwk: JsonWebKey, crv: string): Promise<CryptoKey> {
  const pub = await crypto.subtle.importKey(
    "jwk",
    pubJwk,
    { name: "ECDH", namedCurve: crv },
    false,
    [],
  );
  const bits = (COORD[crv] ?? 32) * 8;
  const z = new Uint8Array(
    await crypto.subtle.deriveBits({ name: "ECDH", public: pub }, priv, bits),
  );
  return crypto.subtle.importKey("raw", await concatKdf(z), "AES-KW", false, [
    "wrapKey",
    "unwrapKey",
  ]);
}

async function sealContent(
  header: string,
  cek: CryptoKey,
  plaintext: Uint8Array,
  encryptedKey: Uint8Array,
) {
  const protectedB64 = b64u(enc.encode(header));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: enc.encode(protectedB64) },
      cek,
      ab(plaintext),
    ),
  );
  return {
    protected: protectedB64,
    encrypted_key: b64u(encryptedKey),
    iv: b64u(iv),
    ciphertext: b64u(sealed.subarray(0, sealed.length - 16)),
    tag: b64u(sealed.subarray(sealed.length - 16)),
  };
}

/**
 * x and y of a freshly generated EC key. Deno computes the public point of a generated key on
 * every public export (about 0.4–0.9 ms for P-256); the PKCS#8 export of the private key carries
 * the same point in its `publicKey` BIT STRING and costs a quarter of that. Falls back to the
 * JWK export if the encoding is not the expected one.
 */
async function ephemeralPublicJwk(
  eph: CryptoKeyPair,
  crv: string,
): Promise<{ x: string; y: string }> {
  const n = COORD[crv] ?? 0;
  const p8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", eph.privateKey));
  const at = p8.length - (1 + 2 * n);
  const point = p8.subarray(at);
  // ... 03 <len> 00 | 04 x y : a BIT STRING with no unused bits holding an uncompressed point.
  if (n > 0 && point[0] === 0x04 && p8[at - 1] === 0x00 && p8[at - 3] === 0x03) {
    return {
      x: b64u(point.subarray(1, 1 + n)),
      y: b64u(point.subarray(1 + n)),
    };
  }
  const jwk = await crypto.subtle.exportKey("jwk", eph.publicKey);
  return { x: jwk.x!, y: jwk.y! };
}

/** Encrypts `plaintext` to the TEE public key. Unsupported (kty, crv, alg) → `unsupported-key`. */
export async function encryptResource(
  teePubKey: TeePubKey,
  plaintext: Uint8Array,
): Promise<FlattenedJwe> {
  const cek = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
    "encrypt",
    "decrypt",
  ]);
  if (teePubKey.kty === "EC" && teePubKey.alg === "ECDH-ES+A256KW" && teePubKey.crv in COORD) {
    const crv = teePubKey.crv;
    const eph = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: crv }, true, [
      "deriveBits",
    ]);
    const epk = await ephemeralPublicJwk(eph, crv);
    const kek = await ecdhKek(
      eph.privateKey,
      { kty: "EC", crv, x: teePubKey.x, y: teePubKey.y },
      crv,
    )
      .catch((err) => {
        throw new JweError(
          "unsupported-key",
          `Cannot encrypt resource: invalid EC tee-pubkey (${err.message})`,
          {
            cause: err,
          },
        );
      });
    const wrapped = new Uint8Array(await crypto.subtle.wrapKey("raw", cek, kek, "AES-KW"));
    const header = JSON.stringify({
      alg: "ECDH-ES+A256KW",
      enc: "A256GCM",
      epk: { crv, kty: "EC", x: epk.x, y: epk.y },
    });
    return sealContent(header, cek, plaintext, wrapped);
  }
  if (teePubKey.kty === "RSA" && (teePubKey.alg === "RSA-OAEP-256" || teePubKey.alg === "RSA1_5")) {
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", cek));
    const jwk = { kty: "RSA", n: teePubKey.n, e: teePubKey.e };
    let wrapped: Uint8Array;
    try {
      if (teePubKey.alg === "RSA-OAEP-256") {
        const pub = await crypto.subtle.importKey(
          "jwk",
          { ...jwk, alg: "RSA-OAEP-256" },
          {
            name: "RSA-OAEP",
            hash: "SHA-256",
          },
          false,
          ["encrypt"],
        );
        wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, pub, raw));
      } else {
        const pub = createPublicKey({ key: jwk, format: "jwk" });
        wrapped = new Uint8Array(
          publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, raw),
        );
      }
    } catch (err) {
      throw new JweError(
        "unsupported-key",
        `Cannot encrypt resource: invalid RSA tee-pubkey (${(err as Error).message})`,
        {
          cause: err,
        },
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
  let cek: CryptoKey;
  try {
    if (header.alg === "ECDH-ES+A256KW") {
      const epk = obj(header.epk, "epk");
      if (epk.crv !== privateJwk.crv) {
        throw new Error(`epk curve ${String(epk.crv)} does not match the key`);
      }
      const kek = await ecdhKek(privateKey, {
        kty: "EC",
        crv: String(epk.crv),
        x: str(epk.x, "epk.x"),
        y: str(epk.y, "epk.y"),
      }, String(epk.crv));
      cek = await crypto.subtle.unwrapKey("raw", wrapped, kek, "AES-KW", "AES-GCM", false, [
        "decrypt",
      ]);
    } else if (header.alg === "RSA-OAEP-256") {
      const raw = await crypto.subtle.decrypt({ name: "RSA-OAEP" }, privateKey, wrapped);
      cek = await crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["decrypt"]);
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
  const body = concat(unb64u(jwe.ciphertext, "ciphertext"), unb64u(jwe.tag, "tag"));
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: unb64u(jwe.iv, "iv"), additionalData: enc.encode(jwe.protected) },
        cek,
        body,
      ),
    );
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
