/**
 * X.509 plumbing for the TDX verifier: PEM splitting, certificate and CRL parsing and
 * signature checks through @peculiar/x509 (WebCrypto underneath), with typed errors.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { VerifierError } from "../types.ts";

x509.cryptoProvider.set(crypto);

export { x509 };

/** Splits concatenated PEM certificates and parses each. */
export function parsePemChain(pem: string, what: string): x509.X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  try {
    return blocks.map((b) => new x509.X509Certificate(b));
  } catch (err) {
    throw new VerifierError(
      "bad-certificate-chain",
      `Cannot verify TDX evidence: ${what} has an unparsable certificate`,
      { cause: err },
    );
  }
}

/** Parses a CRL from DER, PEM or hex text. */
export function parseCrl(bytes: Uint8Array, what: string): x509.X509Crl {
  try {
    const text = new TextDecoder().decode(bytes.subarray(0, Math.min(bytes.length, 64)));
    if (text.startsWith("-----BEGIN")) return new x509.X509Crl(new TextDecoder().decode(bytes));
    if (/^[0-9a-fA-F]+$/.test(text.trim()) && bytes[0] !== 0x30) {
      return new x509.X509Crl(Uint8Array.fromHex(new TextDecoder().decode(bytes).trim()));
    }
    return new x509.X509Crl(bytes.slice());
  } catch (err) {
    throw new VerifierError(
      "collateral-unavailable",
      `Cannot verify TDX evidence: ${what} is not a valid CRL`,
      { cause: err },
    );
  }
}

/** Common name of a distinguished name string (`CN=…`). */
export function commonName(cert: x509.X509Certificate): string {
  return cert.subjectName.getField("CN")[0] ?? "";
}

/**
 * Signature checks that succeeded, keyed by signature bytes and issuer key: a signature is a
 * pure function of the signed bytes and the key, so a repeat needs no new ECDSA verify.
 */
const verified = new Set<string>();

function memoKey(sig: ArrayBuffer, issuer: x509.X509Certificate): string {
  return `${new Uint8Array(sig).toHex()}/${new Uint8Array(issuer.publicKey.rawData).toHex()}`;
}

function remember(key: string): void {
  if (verified.size > 4096) verified.clear();
  verified.add(key);
}

/** Checks `cert` is signed by `issuer`'s key and names it as issuer. */
export async function checkIssuedBy(
  cert: x509.X509Certificate,
  issuer: x509.X509Certificate,
  what: string,
): Promise<void> {
  const key = memoKey(cert.signature, issuer) + new Uint8Array(cert.rawData).toHex();
  let ok = cert.issuer === issuer.subject && verified.has(key);
  if (!ok) {
    try {
      ok = cert.issuer === issuer.subject &&
        await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
    } catch {
      ok = false;
    }
    if (ok) remember(key);
  }
  if (!ok) {
    throw new VerifierError(
      "bad-certificate-chain",
      `Cannot verify TDX evidence: ${what} is not signed by "${commonName(issuer)}"`,
    );
  }
}

/** Checks a CRL is issued and signed by `issuer`. */
export async function checkCrlIssuedBy(
  crl: x509.X509Crl,
  issuer: x509.X509Certificate,
  what: string,
): Promise<void> {
  const key = memoKey(crl.signature, issuer) + new Uint8Array(crl.rawData).toHex();
  let ok = crl.issuer === issuer.subject && verified.has(key);
  if (!ok) {
    try {
      ok = crl.issuer === issuer.subject && await crl.verify({ publicKey: issuer.publicKey });
    } catch {
      ok = false;
    }
    if (ok) remember(key);
  }
  if (!ok) {
    throw new VerifierError(
      "bad-certificate-chain",
      `Cannot verify TDX evidence: ${what} is not issued and signed by "${commonName(issuer)}"`,
    );
  }
}

/** Fails with `revoked` when `cert` is listed in `crl`. */
export function checkNotRevoked(crl: x509.X509Crl, cert: x509.X509Certificate, what: string) {
  if (crl.findRevoked(cert)) {
    throw new VerifierError(
      "revoked",
      `Cannot verify TDX evidence: ${what} (serial ${cert.serialNumber}) is revoked by the CRL of "${
        crl.issuerName.getField("CN")[0] ?? crl.issuer
      }"`,
    );
  }
}

/** Fails with `expired` when `now` is outside the certificate's validity period. */
export function checkValidity(cert: x509.X509Certificate, now: Date, what: string): void {
  if (now < cert.notBefore || now > cert.notAfter) {
    throw new VerifierError(
      "expired",
      `Cannot verify TDX evidence: ${what} is valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}, not at ${now.toISOString()}`,
    );
  }
}

/** The CRL Number extension value, if present. */
export function crlNumber(crl: x509.X509Crl): number | undefined {
  const ext = crl.getExtension("2.5.29.20");
  if (!ext) return undefined;
  const v = new Uint8Array(ext.value);
  // INTEGER: 02 len bytes…
  if (v[0] !== 0x02) return undefined;
  let n = 0;
  for (const b of v.subarray(2, 2 + v[1]!)) n = n * 256 + b;
  return n;
}

/** Uncompressed EC public key bytes (65 bytes for P-256) of a certificate. */
export async function rawPublicKey(cert: x509.X509Certificate): Promise<Uint8Array> {
  const key = await cert.publicKey.export(
    { name: "ECDSA", namedCurve: "P-256" },
    ["verify"],
    crypto,
  );
  return new Uint8Array(await crypto.subtle.exportKey("raw", key));
}
