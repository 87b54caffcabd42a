/**
 * TLS material for `trustee serve`: the configured certificate and key, or — only when asked
 * (`serve --self-signed`) — a development certificate generated once and reused from the data
 * directory, as upstream's `trustee run` does (`https_key`, `https_cert_cache.pem`). Upstream
 * makes RSA-2048; we make EC P-256 (faster handshakes, same trust story: none). Deno's TLS stack
 * (rustls) offers TLS 1.2 and 1.3 only, so `tls_min_version = "1.2"` holds by construction.
 *
 * @module
 */
import { pathExists } from "@coco/lib/fs";
import type { HttpServerConfig } from "./config.ts";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** PEM texts handed to `Deno.serve`. */
export interface TlsMaterial {
  cert: string;
  key: string;
}

function pkcs8Pem(der: ArrayBuffer): string {
  const b64 = new Uint8Array(der).toBase64().replace(/(.{64})/g, "$1\n");
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

/**
 * Makes a self-signed certificate for `localhost` and the given IP addresses, valid 365 days.
 */
export async function makeSelfSigned(ips: string[], now = Date.now()): Promise<TlsMaterial> {
  // Loaded on use: the X.509 library costs start-up time that plain serving does not need.
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(crypto);
  const keys = await crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const names = [
    { type: "dns" as const, value: "localhost" },
    { type: "dns" as const, value: "localhost.localdomain" },
    ...ips.map((ip) => ({ type: "ip" as const, value: ip })),
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.getRandomValues(new Uint8Array(8)).toHex().replace(/^[89a-f]/, "1"),
    name: "CN=localhost",
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * 86400_000),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.SubjectAlternativeNameExtension(names),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  return {
    cert: cert.toString("pem") + "\n",
    key: pkcs8Pem(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
  };
}

/** IP literals among `host:port` sockets (for the certificate's SANs). */
export function socketIps(sockets: string[]): string[] {
  return sockets
    .map((s) => s.slice(0, s.lastIndexOf(":")).replace(/^\[|\]$/g, ""))
    .filter((h) => /^[0-9.]+$/.test(h) || h.includes(":"))
    .filter((h) => h !== "0.0.0.0" && h !== "::");
}

/**
 * The TLS material to serve with: `undefined` for `insecure_http`, the configured files, or a
 * self-signed pair under `selfSignedDir` (created on first use). Throws naming the config keys
 * when HTTPS is configured without material.
 */
export async function loadTls(
  http: HttpServerConfig,
  file: string,
  selfSignedDir?: string,
): Promise<TlsMaterial | undefined> {
  if (http.insecure_http) return undefined;
  if (http.certificate && http.private_key) {
    return {
      cert: await Deno.readTextFile(http.certificate),
      key: await Deno.readTextFile(http.private_key),
    };
  }
  if (!selfSignedDir) {
    throw new Error(
      `Cannot serve HTTPS: http_server.certificate and http_server.private_key are required in ${file} (or set insecure_http = true, or run serve --self-signed for development)`,
    );
  }
  const keyPath = `${selfSignedDir}/https_key`;
  const certPath = `${selfSignedDir}/https_cert_cache.pem`;
  if (await pathExists(keyPath) && await pathExists(certPath)) {
    return { cert: await Deno.readTextFile(certPath), key: await Deno.readTextFile(keyPath) };
  }
  const made = await makeSelfSigned(socketIps(http.sockets));
  await Deno.mkdir(selfSignedDir, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(keyPath, made.key, { mode: 0o600 });
  await Deno.writeTextFile(certPath, made.cert);
  return made;
}
