/**
 * Admin key pairs and admin tokens, as the upstream `trustee keygen` and token minting do
 * (fixed: upstream's `trustee` CLI omits the `role` claim, which the KBS requires; we include it).
 *
 * @module
 */
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT } from "jose";

/** A PEM key pair for signing admin tokens. */
export interface AdminKeyPair {
  /** PKCS#8 private key (`-----BEGIN PRIVATE KEY-----`). */
  privateKeyPem: string;
  /** SPKI public key (`-----BEGIN PUBLIC KEY-----`), for `public_key_uri`. */
  publicKeyPem: string;
}

/** Generates an Ed25519 admin key pair (what `trustee keygen` produces). */
export async function generateAdminKeyPair(): Promise<AdminKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { extractable: true });
  return {
    privateKeyPem: await exportPKCS8(privateKey),
    publicKeyPem: await exportSPKI(publicKey),
  };
}

/** Claims and lifetime of {@linkcode mintAdminToken}. */
export interface MintAdminTokenOptions {
  /** `role` claim checked by the regex ACL (default `"admin"`). */
  role?: string;
  /** `iss` claim (default `"trustee"`). */
  issuer?: string;
  /** `aud` claim, written as an array; omitted when not given. */
  audience?: string | string[];
  /** `sub` claim (default: the role). */
  subject?: string;
  /** JWS header `kid`, for verifiers using a JWK set. */
  keyId?: string;
  /** Lifetime in seconds (`exp = iat + ttlSeconds`). */
  ttlSeconds: number;
}

const SIGNING_ALGS = ["EdDSA", "ES256", "ES384", "RS256"] as const;

async function importSigningKey(pem: string): Promise<{ key: CryptoKey; alg: string }> {
  for (const alg of SIGNING_ALGS) {
    try {
      return { key: (await importPKCS8(pem.trim(), alg)) as CryptoKey, alg };
    } catch {
      // try the next key type
    }
  }
  throw new Error(
    "Cannot mint admin token: the private key is not a PKCS#8 Ed25519, EC P-256/P-384 or RSA key",
  );
}

/**
 * Signs an admin JWT with `privatePem` (EdDSA for Ed25519, ES256/ES384 for EC, RS256 for RSA),
 * carrying `iss`, `sub`, `aud` (when given), `role`, `iat` and `exp`. `nowMs` defaults to now.
 *
 * @example
 * ```ts
 * const { privateKeyPem } = await generateAdminKeyPair();
 * const token = await mintAdminToken(privateKeyPem, { issuer: "TrusteeInDocker", audience: "KBS", ttlSeconds: 3600 });
 * ```
 */
export async function mintAdminToken(
  privatePem: string,
  options: MintAdminTokenOptions,
  nowMs: number = Date.now(),
): Promise<string> {
  if (!Number.isFinite(options.ttlSeconds) || options.ttlSeconds <= 0) {
    throw new RangeError(
      `Cannot mint admin token: ttlSeconds must be positive, got ${options.ttlSeconds}`,
    );
  }
  const { key, alg } = await importSigningKey(privatePem);
  const role = options.role ?? "admin";
  const iat = Math.floor(nowMs / 1000);
  const header = options.keyId === undefined
    ? { alg, typ: "JWT" }
    : { alg, typ: "JWT", kid: options.keyId };
  const jwt = new SignJWT({ role })
    .setProtectedHeader(header)
    .setIssuer(options.issuer ?? "trustee")
    .setSubject(options.subject ?? role)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.floor(options.ttlSeconds));
  if (options.audience !== undefined) {
    jwt.setAudience(typeof options.audience === "string" ? [options.audience] : options.audience);
  }
  return await jwt.sign(key);
}
