/**
 * A test PKI shaped like Intel's (tests only): a fake SGX root, PCK Platform CA, PCK leaf
 * carrying a real SGX extension, TCB signing cert, CRLs, and helpers that re-sign a quote and
 * collateral documents with it, so the collateral, CRL and expiry paths run without Intel keys.
 */
import { concat } from "@coco/lib/bytes";
import { encodeTdxQuote, parseTdxQuote } from "@coco/lib/tee/tdx";
import { x509 } from "./_x509.ts";
import type { TdxTrust } from "./verify_quote.ts";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const O = "O=Intel Corporation, L=Santa Clara, ST=CA, C=US";

/** The generated PKI. */
export interface TestPki {
  trust: TdxTrust;
  root: x509.X509Certificate;
  platformCa: x509.X509Certificate;
  pckLeaf: x509.X509Certificate;
  tcbSigning: x509.X509Certificate;
  keys: { root: CryptoKeyPair; ca: CryptoKeyPair; pck: CryptoKeyPair; tcb: CryptoKeyPair };
}

/** Options: validity of the PCK leaf, and its SGX extension (DER value). */
export interface TestPkiOptions {
  sgxExtension: ArrayBuffer;
  leafNotBefore?: Date;
  leafNotAfter?: Date;
  leafSerial?: string;
}

const gen = () => crypto.subtle.generateKey(EC, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;

/** Makes the PKI. */
export async function makeTestPki(o: TestPkiOptions): Promise<TestPki> {
  const keys = { root: await gen(), ca: await gen(), pck: await gen(), tcb: await gen() };
  const nb = new Date("2018-05-21T10:45:10Z");
  const na = new Date("2049-12-31T23:59:59Z");
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=Intel SGX Root CA, ${O}`,
    notBefore: nb,
    notAfter: na,
    keys: keys.root,
    signingAlgorithm: EC,
    extensions: [new x509.BasicConstraintsExtension(true, 1, true)],
  });
  const issue = (
    serial: string,
    cn: string,
    key: CryptoKey,
    signer: CryptoKey,
    issuer: string,
    ext: x509.Extension[] = [],
    from = nb,
    to = na,
  ) =>
    x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${cn}, ${O}`,
      issuer,
      notBefore: from,
      notAfter: to,
      publicKey: key,
      signingKey: signer,
      signingAlgorithm: EC,
      extensions: ext,
    });
  const platformCa = await issue(
    "02",
    "Intel SGX PCK Platform CA",
    keys.ca.publicKey,
    keys.root.privateKey,
    root.subject,
  );
  const pckLeaf = await issue(
    o.leafSerial ?? "0a",
    "Intel SGX PCK Certificate",
    keys.pck.publicKey,
    keys.ca.privateKey,
    platformCa.subject,
    [new x509.Extension("1.2.840.113741.1.13.1", false, o.sgxExtension)],
    o.leafNotBefore ?? new Date("2025-04-08T09:58:52Z"),
    o.leafNotAfter ?? new Date("2032-04-08T09:58:52Z"),
  );
  const tcbSigning = await issue(
    "03",
    "Intel SGX TCB Signing",
    keys.tcb.publicKey,
    keys.root.privateKey,
    root.subject,
  );
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", keys.root.publicKey));
  return { trust: { rootKeyHex: raw.toHex() }, root, platformCa, pckLeaf, tcbSigning, keys };
}

/** PEM of certificates, concatenated. */
export function pem(...certs: x509.X509Certificate[]): string {
  return certs.map((c) => c.toString("pem") + "\n").join("");
}

/** A CRL issued by `issuer`, revoking `serials`. */
export async function makeCrl(
  issuer: x509.X509Certificate,
  key: CryptoKey,
  serials: string[],
  thisUpdate = new Date("2025-10-01T00:00:00Z"),
  nextUpdate = new Date("2026-10-01T00:00:00Z"),
): Promise<Uint8Array> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.subject,
    thisUpdate,
    nextUpdate,
    signingKey: key,
    signingAlgorithm: EC,
    entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: thisUpdate })),
    extensions: [new x509.Extension("2.5.29.20", false, new Uint8Array([2, 1, 7]).buffer)],
  });
  return new Uint8Array(crl.rawData);
}

async function sign(key: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(SIGN, key, data as Uint8Array<ArrayBuffer>));
}

/**
 * Re-signs a quote's signed region (optionally replaced) under the PKI: a fresh attestation key,
 * the original QE report with a new binding, signed by the PCK key.
 */
export async function resignQuote(
  pki: TestPki,
  original: Uint8Array,
  signedRegion?: Uint8Array,
): Promise<Uint8Array> {
  const q = parseTdxQuote(original);
  const ak = await gen();
  const akRaw = new Uint8Array(await crypto.subtle.exportKey("raw", ak.publicKey)).subarray(1);
  const qeReport = q.signature.qeReport.raw.slice();
  const bind = new Uint8Array(
    await crypto.subtle.digest("SHA-256", concat(akRaw, q.signature.qeAuthData)),
  );
  qeReport.set(bind, 320);
  qeReport.fill(0, 352, 384);
  const region = signedRegion ?? q.signedRegion;
  return encodeTdxQuote(region, {
    quoteSignature: await sign(ak.privateKey, region),
    attestationKey: akRaw,
    qeReport,
    qeReportSignature: await sign(pki.keys.pck.privateKey, qeReport),
    qeAuthData: q.signature.qeAuthData,
    pckChainPem: pem(pki.pckLeaf, pki.platformCa, pki.root),
  });
}

/** Signs a collateral body: `{"<key>":<body>,"signature":"<hex>"}`. */
export async function signCollateral(pki: TestPki, key: string, body: unknown): Promise<string> {
  const text = JSON.stringify(body);
  const sig = await sign(pki.keys.tcb.privateKey, new TextEncoder().encode(text));
  return `{"${key}":${text},"signature":"${sig.toHex()}"}`;
}
