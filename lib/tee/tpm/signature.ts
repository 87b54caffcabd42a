/**
 * TPMT_SIGNATURE (RSASSA, RSAPSS, ECDSA) parsing, marshalling and verification with WebCrypto.
 */
import { TpmReader, TpmWriter } from "./buffer.ts";
import { algName, TPM_ALG, webCryptoHash } from "./constants.ts";
import { TpmError } from "./errors.ts";
import { ab } from "../../bytes.ts";

/** A TPM signature; `hash` is the TPM_ALG_ID of the digest that was signed. */
export type TpmSignature =
  | { alg: "rsassa" | "rsapss"; hash: number; sig: Uint8Array }
  | { alg: "ecdsa"; hash: number; r: Uint8Array; s: Uint8Array };

/** Parses a marshalled TPMT_SIGNATURE; trailing bytes are an error. */
export function parseTpmSignature(bytes: Uint8Array): TpmSignature {
  const r = new TpmReader(bytes, "TPMT_SIGNATURE");
  const out = readTpmSignature(r);
  r.end();
  return out;
}

/** Reads a TPMT_SIGNATURE from `r`. */
export function readTpmSignature(r: TpmReader): TpmSignature {
  const alg = r.u16("sigAlg");
  switch (alg) {
    case TPM_ALG.RSASSA:
    case TPM_ALG.RSAPSS:
      return {
        alg: alg === TPM_ALG.RSASSA ? "rsassa" : "rsapss",
        hash: r.u16("hash"),
        sig: r.sized("signature", 512),
      };
    case TPM_ALG.ECDSA:
      return { alg: "ecdsa", hash: r.u16("hash"), r: r.sized("r", 66), s: r.sized("s", 66) };
    default:
      throw new TpmError(
        "unsupported",
        `Cannot use TPMT_SIGNATURE: algorithm ${algName(alg)} (expected RSASSA, RSAPSS or ECDSA)`,
      );
  }
}

/** Marshals a TPMT_SIGNATURE. */
export function marshalTpmSignature(sig: TpmSignature): Uint8Array<ArrayBuffer> {
  const w = new TpmWriter();
  switch (sig.alg) {
    case "rsassa":
      return w.u16(TPM_ALG.RSASSA).u16(sig.hash).sized(sig.sig).bytes();
    case "rsapss":
      return w.u16(TPM_ALG.RSAPSS).u16(sig.hash).sized(sig.sig).bytes();
    case "ecdsa":
      return w.u16(TPM_ALG.ECDSA).u16(sig.hash).sized(sig.r).sized(sig.s).bytes();
  }
}

const CURVES = [["P-256", 32], ["P-384", 48], ["P-521", 66]] as const;

function hashName(sig: TpmSignature) {
  const name = webCryptoHash(sig.hash);
  if (!name) {
    throw new TpmError("unsupported", `Cannot verify a signature over ${algName(sig.hash)}`);
  }
  return name;
}

/**
 * Imports an SPKI (DER) public key for verifying `sig`: RSASSA-PKCS1-v1_5 or RSA-PSS for RSA
 * signatures, ECDSA on P-256/P-384/P-521 for ECDSA ones. Throws `malformed` when the key does
 * not fit the signature's algorithm.
 */
export async function importVerifyKey(spki: Uint8Array, sig: TpmSignature): Promise<CryptoKey> {
  const hash = hashName(sig);
  try {
    if (sig.alg === "rsassa" || sig.alg === "rsapss") {
      const name = sig.alg === "rsassa" ? "RSASSA-PKCS1-v1_5" : "RSA-PSS";
      return await crypto.subtle.importKey("spki", ab(spki), { name, hash }, false, ["verify"]);
    }
    for (const [namedCurve] of CURVES) {
      try {
        return await crypto.subtle.importKey(
          "spki",
          ab(spki),
          { name: "ECDSA", namedCurve },
          false,
          ["verify"],
        );
      } catch { /* try the next curve */ }
    }
    throw new Error("not a P-256, P-384 or P-521 key");
  } catch (err) {
    throw new TpmError(
      "malformed",
      `Cannot import the public key for a ${sig.alg.toUpperCase()} signature: ` +
        (err as Error).message,
      { cause: err },
    );
  }
}

function leftPad(b: Uint8Array, n: number): Uint8Array {
  if (b.length >= n) return b.slice(b.length - n);
  const out = new Uint8Array(n);
  out.set(b, n - b.length);
  return out;
}

/**
 * Verifies `sig` over `message` (the TPM signed H(message) with `sig.hash`). For RSA-PSS both
 * salt conventions TPMs use are accepted: salt = digest size, and the maximum salt.
 */
export async function verifyTpmSignature(
  key: CryptoKey,
  sig: TpmSignature,
  message: Uint8Array,
): Promise<boolean> {
  const data = ab(message);
  switch (sig.alg) {
    case "rsassa":
      return await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, ab(sig.sig), data);
    case "rsapss": {
      const hashLen = (await crypto.subtle.digest(hashName(sig), new Uint8Array())).byteLength;
      const modLen = sig.sig.length;
      for (const saltLength of [hashLen, modLen - hashLen - 2]) {
        if (await crypto.subtle.verify({ name: "RSA-PSS", saltLength }, key, ab(sig.sig), data)) {
          return true;
        }
      }
      return false;
    }
    case "ecdsa": {
      const curve = (key.algorithm as EcKeyAlgorithm).namedCurve;
      const size = CURVES.find(([c]) => c === curve)?.[1] ?? 32;
      const p1363 = new Uint8Array(size * 2);
      p1363.set(leftPad(sig.r, size), 0);
      p1363.set(leftPad(sig.s, size), size);
      return await crypto.subtle.verify({ name: "ECDSA", hash: hashName(sig) }, key, p1363, data);
    }
  }
}
