/**
 * Test-only builders: synthetic SPDM reports (request ‖ response ‖ signature) and a P-384 PKI
 * shaped like NVIDIA's (root → ICA → leaf with a DICE TcbInfo FWID), to drive the parser's
 * hostile cases and the signature path without NVIDIA keys.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { concat } from "@coco/lib/bytes";
import { FWID_OID } from "./root.ts";
import { type NvidiaTrustAnchor, trustAnchor } from "./chain.ts";

x509.cryptoProvider.set(crypto);

const le16 = (n: number) => Uint8Array.of(n & 0xff, n >> 8);

/** One opaque item `{type, size, data}`. */
export function opaqueItem(type: number, data: Uint8Array | string): Uint8Array {
  const d = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return concat(le16(type), le16(d.length), d);
}

/** The items every report needs (driver and VBIOS versions) plus a FWID. */
export function requiredOpaque(fwid: Uint8Array = new Uint8Array(48).fill(7)): Uint8Array {
  return concat(
    opaqueItem(3, "595.58.03\0"),
    opaqueItem(6, Uint8Array.of(0x00, 0x81, 0x02, 0x98, 0x01, 0, 0, 0)),
    opaqueItem(20, fwid),
  );
}

/** One DMTF measurement block with a 48-byte (or given) value. */
export function block(
  index: number,
  value: Uint8Array = new Uint8Array(48).fill(index),
): Uint8Array {
  return concat(
    Uint8Array.of(index, 1),
    le16(3 + value.length),
    Uint8Array.of(1),
    le16(value.length),
    value,
  );
}

/** Parts of a synthetic report; each may be overridden raw. */
export interface ReportParts {
  request?: Uint8Array;
  nonce?: Uint8Array;
  blocks?: Uint8Array[];
  blockCount?: number;
  recordLength?: number;
  opaque?: Uint8Array;
  signature?: Uint8Array;
}

/** Request ‖ response without the signature. */
export function signedPart(p: ReportParts = {}): Uint8Array {
  const request = p.request ??
    concat(
      Uint8Array.of(0x11, 0xe0, 0x01, 0xff),
      p.nonce ?? new Uint8Array(32).fill(0xab),
      Uint8Array.of(0),
    );
  const record = concat(...(p.blocks ?? [block(1), block(2)]));
  const len = p.recordLength ?? record.length;
  const opaque = p.opaque ?? requiredOpaque();
  return concat(
    request,
    Uint8Array.of(
      0x11,
      0x60,
      0,
      0,
      p.blockCount ?? (p.blocks ?? [0, 0]).length,
      len & 0xff,
      (len >> 8) & 0xff,
      len >> 16,
    ),
    record,
    new Uint8Array(32).fill(0xcd),
    le16(opaque.length),
    opaque,
  );
}

/** A full report with a (dummy unless given) 96-byte signature. */
export function report(p: ReportParts = {}): Uint8Array {
  return concat(signedPart(p), p.signature ?? new Uint8Array(96));
}

const EC = { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" } as const;
const gen = () => crypto.subtle.generateKey(EC, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;
const FROM = new Date("2024-01-01T00:00:00Z");
const TO = new Date("2034-01-01T00:00:00Z");

/** DICE TcbInfo-like extension value ending in `OCTET STRING (48) fwid`, as NVIDIA's. */
function tcbInfo(fwid: Uint8Array): Uint8Array<ArrayBuffer> {
  const sha384 = Uint8Array.fromHex("0609608648016503040202");
  const inner = concat(sha384, Uint8Array.of(0x04, 48), fwid);
  const fw = concat(Uint8Array.of(0x30, inner.length), inner);
  return concat(Uint8Array.of(0x30, fw.length + 2, 0x30, fw.length), fw);
}

/** A synthetic PKI and the leaf key that signs reports. */
export interface TestPki {
  anchor: NvidiaTrustAnchor;
  chainPem: string;
  leafKey: CryptoKey;
}

/** Options that break one property of the synthetic chain. */
export interface TestPkiOptions {
  fwid?: Uint8Array;
  icaIsCa?: boolean;
  leafCriticalOid?: string;
}

/** Root → ICA → leaf, all P-384; the chain PEM ends with the root, as NVIDIA's. */
export async function makeTestPki(o: TestPkiOptions = {}): Promise<TestPki> {
  const [root, ica, leaf] = [await gen(), await gen(), await gen()];
  const caExt = (ca: boolean) => [
    new x509.BasicConstraintsExtension(ca, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
  ];
  const rootCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=Test Device Identity CA",
    notBefore: FROM,
    notAfter: TO,
    keys: root,
    signingAlgorithm: EC,
    extensions: caExt(true),
  });
  const icaCert = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=Test ICA",
    issuer: rootCert.subject,
    notBefore: FROM,
    notAfter: TO,
    publicKey: ica.publicKey,
    signingKey: root.privateKey,
    signingAlgorithm: EC,
    extensions: caExt(o.icaIsCa ?? true),
  });
  const leafExt: x509.Extension[] = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.Extension(FWID_OID, false, tcbInfo(o.fwid ?? new Uint8Array(48).fill(7))),
  ];
  if (o.leafCriticalOid) {
    leafExt.push(new x509.Extension(o.leafCriticalOid, true, Uint8Array.of(5, 0)));
  }
  const leafCert = await x509.X509CertificateGenerator.create({
    serialNumber: "03",
    subject: "CN=Test GSP FMC LF",
    issuer: icaCert.subject,
    notBefore: FROM,
    notAfter: TO,
    publicKey: leaf.publicKey,
    signingKey: ica.privateKey,
    signingAlgorithm: EC,
    extensions: leafExt,
  });
  return {
    anchor: await trustAnchor(rootCert.toString("pem")),
    chainPem: [leafCert, icaCert, rootCert].map((c) => c.toString("pem")).join("\n"),
    leafKey: leaf.privateKey,
  };
}

/** Signs `signed` with `key` (raw r‖s, 96 bytes) and returns the full report. */
export async function signReport(signed: Uint8Array, key: CryptoKey): Promise<Uint8Array> {
  const sig = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-384" },
    key,
    new Uint8Array(signed),
  );
  return concat(signed, new Uint8Array(sig));
}
