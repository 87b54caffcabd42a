/**
 * Public keys of a CCA token: the CPAK from a trust-anchor JWK and the RAK from the realm token
 * (a raw uncompressed P-384 point in the legacy realm profile, a COSE_Key in
 * `tag:arm.com,2023:realm#1.0.0`). All imported as WebCrypto ECDSA verification keys.
 *
 * @module
 */
import { ab } from "@coco/lib/bytes";
import { type CborValue, decodeCbor } from "./cbor.ts";
import { CoseError } from "./cose.ts";

const CURVE_SIZE = { "P-256": 32, "P-384": 48 } as const;
type Curve = keyof typeof CURVE_SIZE;

/** An EC public JWK as found in a trust-anchor store (`kty`, `crv`, `x`, `y`). */
export interface EcPublicJwk {
  kty: "EC";
  crv: Curve;
  x: string;
  y: string;
}

/** Imports an EC public JWK for ECDSA verification. */
export async function importJwkKey(jwk: EcPublicJwk, what: string): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y, ext: true },
      { name: "ECDSA", namedCurve: jwk.crv },
      true,
      ["verify"],
    );
  } catch (err) {
    throw new CoseError("bad-key", `${what} is not a valid ${jwk.crv} public key`, { cause: err });
  }
}

/** Imports an uncompressed `04‖X‖Y` point on `curve` for ECDSA verification. */
export async function importRawPoint(
  point: Uint8Array,
  curve: Curve,
  what: string,
): Promise<CryptoKey> {
  const size = CURVE_SIZE[curve];
  if (point.length !== 1 + 2 * size || point[0] !== 0x04) {
    throw new CoseError(
      "bad-key",
      `${what} is not an uncompressed ${curve} point (${1 + 2 * size} bytes starting with 04)`,
    );
  }
  try {
    return await crypto.subtle.importKey(
      "raw",
      ab(point),
      { name: "ECDSA", namedCurve: curve },
      true,
      ["verify"],
    );
  } catch (err) {
    throw new CoseError("bad-key", `${what} is not a point on ${curve}`, { cause: err });
  }
}

function coseCurve(crv: CborValue): Curve | undefined {
  return crv === 1 ? "P-256" : crv === 2 ? "P-384" : undefined;
}

/** Imports an EC2 COSE_Key (RFC 9053 §7.1.1) given as its CBOR encoding. */
export function importCoseKey(bytes: Uint8Array, what: string): Promise<CryptoKey> {
  let key: CborValue;
  try {
    key = decodeCbor(bytes, { maxDepth: 4 });
  } catch (err) {
    throw new CoseError("bad-key", `${what} is not a CBOR COSE_Key: ${(err as Error).message}`);
  }
  if (!(key instanceof Map)) throw new CoseError("bad-key", `${what} is not a COSE_Key map`);
  if (key.get(1) !== 2) throw new CoseError("bad-key", `${what} is not an EC2 COSE_Key (kty 2)`);
  const curve = coseCurve(key.get(-1));
  if (!curve) {
    throw new CoseError(
      "bad-key",
      `${what} uses curve ${String(key.get(-1))}; supported: P-256 (1), P-384 (2)`,
    );
  }
  const x = key.get(-2);
  const y = key.get(-3);
  const size = CURVE_SIZE[curve];
  if (!(x instanceof Uint8Array) || !(y instanceof Uint8Array)) {
    throw new CoseError("bad-key", `${what} needs byte-string x (-2) and y (-3) coordinates`);
  }
  if (x.length !== size || y.length !== size) {
    throw new CoseError("bad-key", `${what} ${curve} coordinates must be ${size} bytes each`);
  }
  const point = new Uint8Array(1 + 2 * size);
  point[0] = 0x04;
  point.set(x, 1);
  point.set(y, 1 + size);
  return importRawPoint(point, curve, what);
}
