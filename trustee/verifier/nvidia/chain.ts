/**
 * NVIDIA device certificate chains (spec/evidence.md §10.3 step 3). The chain arrives as PEM text,
 * leaf first, root last. Order of checks, each failure aborting with Trustee's message:
 * at least two certificates → last certificate's SHA-1 equals the pinned root's → FWID from the
 * leaf's TCG DICE TcbInfo extension equals the report's → path validation from the leaf through
 * the given certificates to the *embedded* root (issuer names, ECDSA signatures, CA flag, key
 * usage, path length, unknown critical extensions, validity at `now`), as OpenSSL does for Trustee.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { VerifierError, type VerifierErrorCode } from "../types.ts";
import { FWID_OID, NVIDIA_DEVICE_ROOT_PEM, NVIDIA_DEVICE_ROOT_SHA1 } from "./root.ts";

x509.cryptoProvider.set(crypto);

/** The trust anchor a chain must end in, with the SHA-1 of its DER (lower-case hex). */
export interface NvidiaTrustAnchor {
  cert: x509.X509Certificate;
  sha1: string;
}

const CHAIN_FAILED = "Report certificate chain failed to verify";
const MAX_DEPTH = 8;
/** Critical extensions we understand: key usage, basic constraints, SAN, EKU, policies. */
const KNOWN_CRITICAL = new Set(["2.5.29.15", "2.5.29.19", "2.5.29.17", "2.5.29.37", "2.5.29.32"]);

function fail(code: VerifierErrorCode, message: string): never {
  throw new VerifierError(code, message);
}

const cn = (c: x509.X509Certificate) => c.subjectName.getField("CN")[0] ?? c.subject;

/** Builds a trust anchor from a PEM certificate. */
export async function trustAnchor(pem: string): Promise<NvidiaTrustAnchor> {
  const cert = new x509.X509Certificate(pem);
  const sha1 = new Uint8Array(await crypto.subtle.digest("SHA-1", cert.rawData)).toHex();
  return { cert, sha1 };
}

let pinned: Promise<NvidiaTrustAnchor> | undefined;

/** The embedded NVIDIA Device Identity CA; its fingerprint is checked against the pinned value. */
export function nvidiaRoot(): Promise<NvidiaTrustAnchor> {
  pinned ??= trustAnchor(NVIDIA_DEVICE_ROOT_PEM).then((a) => {
    if (a.sha1 !== NVIDIA_DEVICE_ROOT_SHA1) throw new Error("embedded NVIDIA root is corrupt");
    return a;
  });
  return pinned;
}

const parsed = new Map<string, x509.X509Certificate[]>();

/** Parses concatenated PEM certificates (cached by text: chains repeat across attestations). */
export function parseCertChain(pem: string): x509.X509Certificate[] {
  const hit = parsed.get(pem);
  if (hit) return hit;
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  let certs: x509.X509Certificate[];
  try {
    certs = blocks.map((b) => new x509.X509Certificate(b));
  } catch (err) {
    throw new VerifierError(
      "bad-certificate-chain",
      "Certificate chain has a certificate that is not valid X.509",
      { cause: err },
    );
  }
  if (parsed.size >= 64) parsed.clear();
  parsed.set(pem, certs);
  return certs;
}

/** FWID = last 48 bytes of the DICE TcbInfo extension (an OCTET STRING holding a SHA-384 digest). */
export function fwidFromCert(cert: x509.X509Certificate): string {
  const found = cert.extensions.filter((e) => e.type === FWID_OID);
  if (found.length === 0) {
    fail("bad-certificate-chain", "FwId oid not found in the NVIDIA signing certificate");
  }
  if (found.length > 1) {
    fail(
      "bad-certificate-chain",
      "FwId oid appears more than once in the NVIDIA signing certificate",
    );
  }
  const v = new Uint8Array(found[0]!.value);
  if (v.length < 50 || v[v.length - 50] !== 0x04 || v[v.length - 49] !== 48) {
    fail("bad-certificate-chain", "Unexpected fwid oid size");
  }
  return v.subarray(v.length - 48).toHex();
}

const fingerprints = new WeakMap<x509.X509Certificate, string>();

async function sha1(cert: x509.X509Certificate): Promise<string> {
  let hex = fingerprints.get(cert);
  if (hex === undefined) {
    hex = new Uint8Array(await crypto.subtle.digest("SHA-1", cert.rawData)).toHex();
    fingerprints.set(cert, hex);
  }
  return hex;
}

const paths = new WeakMap<
  x509.X509Certificate[],
  { anchor: x509.X509Certificate; path: x509.X509Certificate[] }
>();

/** Successful signature checks: (certificate DER, issuer key) pairs; a signature never changes. */
const verified = new Set<string>();

async function issuedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate) {
  if (cert.issuer !== issuer.subject) return false;
  const key = `${new Uint8Array(cert.rawData).toHex()}/${
    new Uint8Array(issuer.publicKey.rawData).toHex()
  }`;
  if (verified.has(key)) return true;
  let ok = false;
  try {
    ok = await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    ok = false;
  }
  if (ok) {
    if (verified.size >= 1024) verified.clear();
    verified.add(key);
  }
  return ok;
}

/** Leaf → … → anchor, picking each issuer among `pool` by name and signature. */
async function buildPath(
  leaf: x509.X509Certificate,
  pool: x509.X509Certificate[],
  anchor: x509.X509Certificate,
): Promise<x509.X509Certificate[]> {
  const path = [leaf];
  for (let cur = leaf; path.length <= MAX_DEPTH;) {
    if (await issuedBy(cur, anchor)) return [...path, anchor];
    let next: x509.X509Certificate | undefined;
    for (const c of pool) {
      if (!path.includes(c) && await issuedBy(cur, c)) {
        next = c;
        break;
      }
    }
    if (!next) {
      fail(
        "bad-certificate-chain",
        `${CHAIN_FAILED} (no issuer of "${cn(cur)}" in the chain or the pinned root)`,
      );
    }
    path.push(next);
    cur = next;
  }
  return fail("bad-certificate-chain", `${CHAIN_FAILED} (longer than ${MAX_DEPTH} certificates)`);
}

/** OpenSSL-style extension checks on a built path (leaf at 0, anchor last). */
function checkPath(path: x509.X509Certificate[], now: Date): void {
  path.forEach((c, i) => {
    if (now < c.notBefore || now > c.notAfter) {
      fail(
        "expired",
        `${CHAIN_FAILED} ("${
          cn(c)
        }" is valid ${c.notBefore.toISOString()} to ${c.notAfter.toISOString()}, not at ${now.toISOString()})`,
      );
    }
    const critical = c.extensions.find((e) => e.critical && !KNOWN_CRITICAL.has(e.type));
    if (critical) {
      fail(
        "bad-certificate-chain",
        `${CHAIN_FAILED} ("${cn(c)}" has unsupported critical extension ${critical.type})`,
      );
    }
    const ku = c.getExtension(x509.KeyUsagesExtension);
    if (i === 0) {
      if (ku && !(ku.usages & x509.KeyUsageFlags.digitalSignature)) {
        fail(
          "bad-certificate-chain",
          `${CHAIN_FAILED} (signing certificate "${cn(c)}" may not sign)`,
        );
      }
      return;
    }
    const bc = c.getExtension(x509.BasicConstraintsExtension);
    if (!bc?.ca) fail("bad-certificate-chain", `${CHAIN_FAILED} ("${cn(c)}" is not a CA)`);
    if (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign)) {
      fail("bad-certificate-chain", `${CHAIN_FAILED} ("${cn(c)}" may not sign certificates)`);
    }
    // Intermediate CAs between this one and the leaf must not exceed its path length.
    if (bc.pathLength !== undefined && i - 1 > bc.pathLength) {
      fail(
        "bad-certificate-chain",
        `${CHAIN_FAILED} ("${cn(c)}" path length ${bc.pathLength} exceeded)`,
      );
    }
  });
}

/**
 * Verifies a device chain for a report whose opaque data carries `expectedFwid`; returns the leaf
 * (the report signing certificate). `anchor` defaults to the embedded NVIDIA root.
 */
export async function verifyNvidiaChain(
  certs: x509.X509Certificate[],
  expectedFwid: string,
  now: Date,
  anchor?: NvidiaTrustAnchor,
): Promise<x509.X509Certificate> {
  const root = anchor ?? await nvidiaRoot();
  if (certs.length < 2) {
    fail(
      "bad-certificate-chain",
      "Certificate chain must have at least the root CA and signing certificates",
    );
  }
  if (await sha1(certs[certs.length - 1]!) !== root.sha1) {
    fail("bad-certificate-chain", "Root CA in the certificate chain is not trusted");
  }
  const leaf = certs[0]!;
  const fwid = fwidFromCert(leaf);
  if (fwid !== expectedFwid) {
    fail("tcb-mismatch", `Fwid mismatch: certificate ${fwid}, evidence ${expectedFwid}`);
  }
  // The path (names and signatures) is a pure function of the chain and the anchor: memoized.
  let built = paths.get(certs);
  if (built?.anchor !== root.cert) {
    built = { anchor: root.cert, path: await buildPath(leaf, certs.slice(0, -1), root.cert) };
    paths.set(certs, built);
  }
  checkPath(built.path, now);
  return leaf;
}

const keys = new Map<string, Promise<CryptoKey>>();

/** The leaf's public key as a WebCrypto ECDSA P-384 key (cached by SPKI). */
export function signingKey(leaf: x509.X509Certificate): Promise<CryptoKey> {
  const spki = new Uint8Array(leaf.publicKey.rawData).toHex();
  let key = keys.get(spki);
  if (!key) {
    key = leaf.publicKey.export({ name: "ECDSA", namedCurve: "P-384" }, ["verify"], crypto)
      .catch((err) => {
        keys.delete(spki);
        throw new VerifierError(
          "bad-certificate-chain",
          `NVIDIA signing certificate "${cn(leaf)}" does not hold an ECDSA P-384 key`,
          { cause: err },
        );
      });
    if (keys.size >= 256) keys.clear();
    keys.set(spki, key);
  }
  return key;
}
