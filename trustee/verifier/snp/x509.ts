/**
 * The slice of X.509 the AMD chain needs: parse a DER/PEM certificate (pkijs), verify an
 * RSASSA-PSS signature with WebCrypto (node:crypto's X509Certificate.verify rejects valid PSS
 * certificates under Deno), read validity and the AMD VEK extensions (SPLs, hwID, product name).
 */
import * as pkijs from "pkijs";
import { ab } from "@coco/lib/bytes";

const RSA_PSS = "1.2.840.113549.1.1.10";
const HASHES: Record<string, "SHA-256" | "SHA-384" | "SHA-512"> = {
  "2.16.840.1.101.3.4.2.1": "SHA-256",
  "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
};
const CN = "2.5.4.3";
/** OID arc of the AMD VEK extensions. */
export const AMD_OID = "1.3.6.1.4.1.3704.1";

/** A parsed certificate with the fields the AMD checks use. */
export interface AmdCert {
  der: Uint8Array;
  subjectCn: string;
  issuerCn: string;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array<ArrayBuffer>;
  /** Key algorithm OID of the SPKI (rsaEncryption or id-ecPublicKey). */
  keyAlgorithm: string;
  /** extnID → extnValue contents. */
  extensions: ReadonlyMap<string, Uint8Array>;
  /** @internal parsed pkijs object (TBS bytes, signature, algorithm). */
  readonly raw: pkijs.Certificate;
}

const PEM_RE = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/** DER certificates in a PEM text, in order. */
export function pemToDers(pem: string): Uint8Array[] {
  return [...pem.matchAll(PEM_RE)].map((m) => Uint8Array.fromBase64(m[1]!.replace(/\s+/g, "")));
}

/** DER bytes of certificate data that may be PEM (sniffed like the sev crate) or DER. */
export function certDataToDer(data: Uint8Array): Uint8Array {
  const head = new TextDecoder().decode(data.subarray(0, 27));
  if (head !== "-----BEGIN CERTIFICATE-----") return data;
  const der = pemToDers(new TextDecoder().decode(data))[0];
  if (!der) throw new TypeError("PEM certificate data has no complete certificate");
  return der;
}

function cnOf(name: pkijs.RelativeDistinguishedNames): string {
  const attr = name.typesAndValues.find((t) => t.type === CN);
  const v: unknown = attr?.value.valueBlock.value;
  return typeof v === "string" ? v : "";
}

/** Parses a DER certificate; throws `TypeError` when it is not one. */
export function parseAmdCert(der: Uint8Array): AmdCert {
  const raw = pkijs.Certificate.fromBER(ab(der));
  const extensions = new Map<string, Uint8Array>();
  for (const e of raw.extensions ?? []) {
    extensions.set(e.extnID, new Uint8Array(e.extnValue.valueBlock.valueHexView));
  }
  return {
    der,
    subjectCn: cnOf(raw.subject),
    issuerCn: cnOf(raw.issuer),
    notBefore: raw.notBefore.value,
    notAfter: raw.notAfter.value,
    spki: new Uint8Array(raw.subjectPublicKeyInfo.toSchema().toBER()),
    keyAlgorithm: raw.subjectPublicKeyInfo.algorithm.algorithmId,
    extensions,
    raw,
  };
}

const PARSE_CACHE_MAX = 512;
const parseCache = new Map<string, AmdCert>();

/**
 * {@linkcode parseAmdCert} with a bounded in-memory cache keyed by the DER bytes, so repeated
 * evidence reuses the parsed certificate, its imported key and its verified chain links.
 */
export function parseAmdCertCached(der: Uint8Array): AmdCert {
  const key = der.toBase64();
  let cert = parseCache.get(key);
  if (!cert) {
    cert = parseAmdCert(der);
    if (parseCache.size >= PARSE_CACHE_MAX) parseCache.delete(parseCache.keys().next().value!);
    parseCache.set(key, cert);
  }
  return cert;
}

const keyCache = new WeakMap<AmdCert, Map<string, Promise<CryptoKey>>>();

/** Imports (once) the certificate's public key for `algorithm`. */
export function publicKeyOf(
  cert: AmdCert,
  algorithm: RsaHashedImportParams | EcKeyImportParams,
): Promise<CryptoKey> {
  const id = JSON.stringify(algorithm);
  let byAlg = keyCache.get(cert);
  if (!byAlg) keyCache.set(cert, byAlg = new Map());
  let key = byAlg.get(id);
  if (!key) {
    key = crypto.subtle.importKey("spki", cert.spki, algorithm, false, ["verify"]);
    byAlg.set(id, key);
  }
  return key;
}

/**
 * True when `cert`'s RSASSA-PSS signature verifies under `issuer`'s RSA key. Throws `TypeError`
 * for any other signature algorithm or unsupported PSS parameters.
 */
export async function verifyPssSignature(cert: AmdCert, issuer: AmdCert): Promise<boolean> {
  const alg = cert.raw.signatureAlgorithm;
  if (alg.algorithmId !== RSA_PSS) {
    throw new TypeError(`signature algorithm ${alg.algorithmId} is not RSASSA-PSS`);
  }
  const params = new pkijs.RSASSAPSSParams({ schema: alg.algorithmParams });
  const hash = HASHES[params.hashAlgorithm.algorithmId];
  if (!hash) {
    throw new TypeError(`RSASSA-PSS hash ${params.hashAlgorithm.algorithmId} is unsupported`);
  }
  const key = await publicKeyOf(issuer, { name: "RSA-PSS", hash });
  return crypto.subtle.verify(
    { name: "RSA-PSS", saltLength: params.saltLength },
    key,
    ab(new Uint8Array(cert.raw.signatureValue.valueBlock.valueHexView)),
    ab(new Uint8Array(cert.raw.tbsView)),
  );
}

/** Reads a DER INTEGER (non-negative, leading zero allowed) from an extension value. */
export function derUint(value: Uint8Array): number {
  if (value[0] !== 0x02 || value.length < 3 || value[1] !== value.length - 2 || value[1]! > 6) {
    throw new TypeError("extension value is not a small DER INTEGER");
  }
  if (value[2]! & 0x80) throw new TypeError("extension INTEGER is negative");
  return value.subarray(2).reduce((n, b) => n * 256 + b, 0);
}

/** A VEK's TCB from its SPL extensions; `fmc` only when the Turin extension is present. */
export interface VekTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc: number | undefined;
}

/** Reads blSPL/teeSPL/snpSPL/ucodeSPL(/fmcSPL); throws `TypeError` naming a missing one. */
export function vekTcb(cert: AmdCert): VekTcb {
  const spl = (n: number, name: string, required = true) => {
    const v = cert.extensions.get(`${AMD_OID}.3.${n}`);
    if (!v) {
      if (required) throw new TypeError(`certificate has no ${name} extension`);
      return undefined;
    }
    return derUint(v);
  };
  return {
    bootloader: spl(1, "blSPL")!,
    tee: spl(2, "teeSPL")!,
    snp: spl(3, "snpSPL")!,
    microcode: spl(8, "ucodeSPL")!,
    fmc: spl(9, "fmcSPL", false),
  };
}

/** The hwID extension (raw 64 bytes in legacy certs, else a DER OCTET STRING), if present. */
export function vekHwId(cert: AmdCert): Uint8Array | undefined {
  const v = cert.extensions.get(`${AMD_OID}.4`);
  if (!v) return undefined;
  if (v.length === 64) return v;
  if (v[0] === 0x04 && v[1] === v.length - 2 && v[1]! < 0x80) return v.subarray(2);
  throw new TypeError("hwID extension is neither 64 raw bytes nor an OCTET STRING");
}

/** The productName extension (IA5String, e.g. "Milan-B0"), if present. */
export function vekProductName(cert: AmdCert): string | undefined {
  const v = cert.extensions.get(`${AMD_OID}.2`);
  if (!v || v[0] !== 0x16 || v[1] !== v.length - 2) return undefined;
  return new TextDecoder().decode(v.subarray(2));
}
