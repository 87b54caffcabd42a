/**
 * ECDH-ES key agreement for the resource JWE: the shared secret (libcrypto for P-256 when the
 * system has it, else WebCrypto, or node:crypto for a TEE key used more than once), Concat KDF,
 * and the ephemeral public key of a generated key.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  type JsonWebKeyInput,
  type KeyObject,
} from "node:crypto";
import { libcrypto, type NativeKey } from "./_libcrypto.ts";

/** Coordinate sizes (bytes) of the supported curves. */
export const COORD: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

const enc = new TextEncoder();
const b64u = (b: Uint8Array) => b.toBase64({ alphabet: "base64url", omitPadding: true });

const KDF_ALG = enc.encode("ECDH-ES+A256KW");

/** Concat KDF (NIST SP 800-56A, one round of SHA-256) for ECDH-ES+A256KW. */
export function concatKdf(z: Uint8Array): Uint8Array {
  // counter(4) ‖ Z ‖ len(alg) ‖ alg ‖ len(apu)=0 ‖ len(apv)=0 ‖ keydatalen=256
  const buf = new Uint8Array(4 + z.length + 4 + KDF_ALG.length + 12);
  const v = new DataView(buf.buffer);
  v.setUint32(0, 1);
  buf.set(z, 4);
  let o = 4 + z.length;
  v.setUint32(o, KDF_ALG.length);
  buf.set(KDF_ALG, o + 4);
  o += 4 + KDF_ALG.length;
  v.setUint32(o, 0);
  v.setUint32(o + 4, 0);
  v.setUint32(o + 8, 256);
  return createHash("sha256").update(buf).digest();
}
type NodeJwk = JsonWebKeyInput["key"];

/** `04 ‖ x ‖ y` from a JWK's coordinates; a wrong size is a `TypeError` naming it. */
export function uncompressedPoint(jwk: JsonWebKey, n: number): Uint8Array {
  const out = new Uint8Array(1 + 2 * n);
  out[0] = 4;
  for (const [i, c] of [[0, jwk.x], [1, jwk.y]] as const) {
    const bytes = Uint8Array.fromBase64(c ?? "", { alphabet: "base64url" });
    if (bytes.length !== n) {
      throw new TypeError(`${i ? "y" : "x"} is ${bytes.length} bytes, the curve needs ${n}`);
    }
    out.set(bytes, 1 + i * n);
  }
  return out;
}

/** libcrypto copies of P-256 TEE private keys, freed when their CryptoKey is collected. */
const nativeKeys = new WeakMap<CryptoKey, NativeKey>();
const freeNative = new FinalizationRegistry<NativeKey>((k) => k.free());

function nativeKey(priv: CryptoKey, d: string): NativeKey | undefined {
  let key = nativeKeys.get(priv);
  if (key) return key;
  const lib = libcrypto();
  if (!lib) return undefined;
  key = lib.privateKey(Uint8Array.fromBase64(d, { alphabet: "base64url" }));
  nativeKeys.set(priv, key);
  freeNative.register(priv, key);
  return key;
}

/**
 * A fresh P-256 key pair's public coordinates and its ECDH secret with `peer`, through libcrypto;
 * undefined when libcrypto is not available (the caller then uses WebCrypto).
 */
export function nativeEphemeralEcdh(
  peer: JsonWebKey,
): { x: string; y: string; secret: Uint8Array } | undefined {
  const lib = libcrypto();
  if (!lib) return undefined;
  const { publicPoint, secret } = lib.ephemeralEcdh(uncompressedPoint(peer, 32));
  return { x: b64u(publicPoint.subarray(1, 33)), y: b64u(publicPoint.subarray(33)), secret };
}

/**
 * Node KeyObjects of TEE private keys seen more than once. A KeyObject costs about one ECDH to
 * create, and node's `diffieHellman` is then ~20% cheaper and synchronous; a guest reuses its
 * TEE key for every resource of a session, a one-shot key stays on WebCrypto.
 */
const nodeKeys = new WeakMap<CryptoKey, { uses: number; key?: KeyObject }>();

/** The ECDH shared secret (x coordinate) of our private key and the peer's public JWK. */
export async function ecdhSecret(
  priv: CryptoKey,
  privJwk: JsonWebKey | undefined,
  pubJwk: JsonWebKey,
  crv: string,
): Promise<Uint8Array> {
  const native = crv === "P-256" && privJwk?.d ? nativeKey(priv, privJwk.d) : undefined;
  if (native) return native.ecdh(uncompressedPoint(pubJwk, 32));
  let entry = nodeKeys.get(priv);
  if (privJwk && entry && entry.uses > 0) {
    entry.key ??= createPrivateKey({ key: privJwk as NodeJwk, format: "jwk" });
    return diffieHellman({
      privateKey: entry.key,
      publicKey: createPublicKey({ key: pubJwk as NodeJwk, format: "jwk" }),
    });
  }
  if (privJwk) {
    if (!entry) nodeKeys.set(priv, entry = { uses: 0 });
    entry.uses++;
  }
  const pub = await importPeer(pubJwk, crv);
  const bits = (COORD[crv] ?? 32) * 8;
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: pub }, priv, bits));
}

/**
 * Imported peer public keys by curve and coordinates (the KBS sees the same TEE key on every
 * resource fetch of a guest), at most {@linkcode PEER_CACHE} entries, oldest dropped first.
 * A key that fails to import is not kept.
 */
const peers = new Map<string, Promise<CryptoKey>>();
const PEER_CACHE = 1024;

function importPeer(jwk: JsonWebKey, crv: string): Promise<CryptoKey> {
  const id = `${crv}.${jwk.x}.${jwk.y}`;
  let key = peers.get(id);
  if (!key) {
    if (peers.size >= PEER_CACHE) peers.delete(peers.keys().next().value!);
    key = crypto.subtle.importKey("jwk", jwk, { name: "ECDH", namedCurve: crv }, false, []);
    key.catch(() => peers.delete(id));
    peers.set(id, key);
  }
  return key;
}

/**
 * x and y of a freshly generated EC key. Deno computes the public point of a generated key on
 * every public export (about 0.4–0.9 ms for P-256); the PKCS#8 export of the private key carries
 * the same point in its `publicKey` BIT STRING and costs a quarter of that. Falls back to the
 * JWK export if the encoding is not the expected one.
 */
export async function ephemeralPublicJwk(
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
