/**
 * TPMT_PUBLIC / TPM2B_PUBLIC for RSA and ECC keys: parse, marshal (key templates) and convert
 * to WebCrypto keys and DER SubjectPublicKeyInfo.
 */
import { TpmReader, TpmWriter } from "./buffer.ts";
import { algName, TPM_ALG, TPM_ECC } from "./constants.ts";
import { TpmError } from "./errors.ts";
import { ab } from "../../bytes.ts";

/** Symmetric definition of a storage key (absent = TPM_ALG_NULL). */
export interface TpmSymDef {
  alg: number;
  keyBits: number;
  mode: number;
}

/** Fields shared by RSA and ECC public areas. */
interface TpmPublicBase {
  nameAlg: number;
  /** TPMA_OBJECT bits. */
  attributes: number;
  authPolicy: Uint8Array;
  symmetric?: TpmSymDef;
  /** Signing/decryption scheme (TPM_ALG_ID) and its hash; `alg` is NULL when unrestricted. */
  scheme: { alg: number; hash?: number };
}

/** An RSA public area. */
export interface TpmRsaPublic extends TpmPublicBase {
  type: "rsa";
  keyBits: number;
  /** Public exponent; 0 means the default 65537. */
  exponent: number;
  modulus: Uint8Array;
}

/** An ECC public area. */
export interface TpmEccPublic extends TpmPublicBase {
  type: "ecc";
  curve: number;
  kdf: number;
  x: Uint8Array;
  y: Uint8Array;
}

/** A parsed TPMT_PUBLIC of an asymmetric key. */
export type TpmPublic = TpmRsaPublic | TpmEccPublic;

function readSym(r: TpmReader): TpmSymDef | undefined {
  const alg = r.u16("symmetric.algorithm");
  if (alg === TPM_ALG.NULL) return undefined;
  return { alg, keyBits: r.u16("symmetric.keyBits"), mode: r.u16("symmetric.mode") };
}

function readScheme(r: TpmReader): { alg: number; hash?: number } {
  const alg = r.u16("scheme");
  if (alg === TPM_ALG.NULL) return { alg };
  const hash = r.u16("scheme hash");
  if (alg === TPM_ALG.ECDAA) r.u16("scheme count");
  return { alg, hash };
}

/** Reads a TPMT_PUBLIC (RSA or ECC). */
export function readTpmPublic(r: TpmReader): TpmPublic {
  const type = r.u16("type");
  const nameAlg = r.u16("nameAlg");
  const attributes = r.u32("objectAttributes");
  const authPolicy = r.sized("authPolicy", 64);
  if (type === TPM_ALG.RSA) {
    const symmetric = readSym(r);
    const scheme = readScheme(r);
    const keyBits = r.u16("keyBits");
    const exponent = r.u32("exponent");
    const modulus = r.sized("unique.rsa", 512);
    return {
      type: "rsa",
      nameAlg,
      attributes,
      authPolicy,
      ...(symmetric ? { symmetric } : {}),
      scheme,
      keyBits,
      exponent,
      modulus,
    };
  }
  if (type === TPM_ALG.ECC) {
    const symmetric = readSym(r);
    const scheme = readScheme(r);
    const curve = r.u16("curveID");
    const kdf = r.u16("kdf");
    if (kdf !== TPM_ALG.NULL) r.u16("kdf hash");
    const x = r.sized("unique.x", 66);
    const y = r.sized("unique.y", 66);
    return {
      type: "ecc",
      nameAlg,
      attributes,
      authPolicy,
      ...(symmetric ? { symmetric } : {}),
      scheme,
      curve,
      kdf,
      x,
      y,
    };
  }
  throw new TpmError("unsupported", `Cannot use TPMT_PUBLIC of type ${algName(type)}`);
}

/** Parses TPM2B_PUBLIC bytes (u16 size ‖ TPMT_PUBLIC). */
export function parseTpm2bPublic(bytes: Uint8Array): TpmPublic {
  const r = new TpmReader(bytes, "TPM2B_PUBLIC");
  const inner = r.sized("publicArea");
  r.end();
  const ir = new TpmReader(inner, "TPMT_PUBLIC");
  const pub = readTpmPublic(ir);
  ir.end();
  return pub;
}

/** Marshals a TPMT_PUBLIC (used for key templates and name computation). */
export function marshalTpmPublic(pub: TpmPublic): Uint8Array<ArrayBuffer> {
  const w = new TpmWriter();
  w.u16(pub.type === "rsa" ? TPM_ALG.RSA : TPM_ALG.ECC).u16(pub.nameAlg).u32(pub.attributes);
  w.sized(pub.authPolicy);
  if (pub.symmetric) w.u16(pub.symmetric.alg).u16(pub.symmetric.keyBits).u16(pub.symmetric.mode);
  else w.u16(TPM_ALG.NULL);
  w.u16(pub.scheme.alg);
  if (pub.scheme.alg !== TPM_ALG.NULL) w.u16(pub.scheme.hash ?? TPM_ALG.SHA256);
  if (pub.scheme.alg === TPM_ALG.ECDAA) w.u16(0);
  if (pub.type === "rsa") {
    w.u16(pub.keyBits).u32(pub.exponent).sized(pub.modulus);
  } else {
    w.u16(pub.curve).u16(pub.kdf).sized(pub.x).sized(pub.y);
  }
  return w.bytes();
}

const CURVE_NAMES: ReadonlyMap<number, "P-256" | "P-384" | "P-521"> = new Map([
  [TPM_ECC.NIST_P256, "P-256"],
  [TPM_ECC.NIST_P384, "P-384"],
  [TPM_ECC.NIST_P521, "P-521"],
]);

function exponentBytes(e: number): Uint8Array {
  const v = e === 0 ? 65537 : e;
  const out = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) out.unshift(x & 0xff);
  return new Uint8Array(out);
}

/** The public key as a JWK (RSA `n`/`e`, or EC `crv`/`x`/`y`). */
export function tpmPublicToJwk(pub: TpmPublic): JsonWebKey {
  if (pub.type === "rsa") {
    return {
      kty: "RSA",
      n: pub.modulus.toBase64({ alphabet: "base64url", omitPadding: true }),
      e: exponentBytes(pub.exponent).toBase64({ alphabet: "base64url", omitPadding: true }),
    };
  }
  const crv = CURVE_NAMES.get(pub.curve);
  if (!crv) {
    throw new TpmError("unsupported", `Cannot use ECC curve 0x${pub.curve.toString(16)}`);
  }
  const b64 = (b: Uint8Array) => b.toBase64({ alphabet: "base64url", omitPadding: true });
  return { kty: "EC", crv, x: b64(pub.x), y: b64(pub.y) };
}

/** DER SubjectPublicKeyInfo of the key (what the `tpm` evidence's `ak_public` carries). */
export async function tpmPublicToSpki(pub: TpmPublic): Promise<Uint8Array> {
  const jwk = tpmPublicToJwk(pub);
  const alg = pub.type === "rsa"
    ? { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }
    : { name: "ECDSA", namedCurve: jwk.crv! };
  try {
    const key = await crypto.subtle.importKey("jwk", jwk, alg, true, ["verify"]);
    return new Uint8Array(await crypto.subtle.exportKey("spki", key));
  } catch (err) {
    throw new TpmError("malformed", `Cannot convert the TPM public key to SPKI: ${err}`, {
      cause: err,
    });
  }
}

/** PEM "PUBLIC KEY" text of DER SubjectPublicKeyInfo bytes. */
export function spkiToPem(spki: Uint8Array): string {
  const b64 = ab(spki).toBase64();
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
}
