/**
 * Test PKI made in TypeScript (no openssl needed): a CA and a P-256 token-signing leaf, written
 * as the files upstream's KBS e2e expects (`ca-cert.pem`, `token.key`, `token-cert-chain.pem`).
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

function pkcs8Pem(der: ArrayBuffer): string {
  const b64 = new Uint8Array(der).toBase64().replace(/(.{64})/g, "$1\n");
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

/** Writes ca-cert.pem, token.key and token-cert-chain.pem into `dir`. */
export async function makeTokenPki(dir: string): Promise<void> {
  x509.cryptoProvider.set(crypto);
  const caKeys = await crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + 86400_000);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=CoCo Deno test CA",
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const leafKeys = await crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=CoCo Deno token signer",
    issuer: ca.subject,
    notBefore,
    notAfter,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: EC,
  });
  await Deno.writeTextFile(`${dir}/ca-cert.pem`, ca.toString("pem") + "\n");
  await Deno.writeTextFile(
    `${dir}/token.key`,
    pkcs8Pem(await crypto.subtle.exportKey("pkcs8", leafKeys.privateKey)),
  );
  await Deno.writeTextFile(
    `${dir}/token-cert-chain.pem`,
    leaf.toString("pem") + "\n" + ca.toString("pem") + "\n",
  );
}
