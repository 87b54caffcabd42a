/** Makes sealed secrets for tests with WebCrypto ES256 (what upstream's `secret` tool writes). */

const b64u = (b: Uint8Array) => b.toBase64({ alphabet: "base64url", omitPadding: true });
const enc = new TextEncoder();

/** A P-256 signing key and its public JWK text. */
export interface SealingKey {
  privateKey: CryptoKey;
  publicJwk: string;
}

/** Generates a sealing key pair. */
export async function sealingKey(): Promise<SealingKey> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return {
    privateKey: pair.privateKey,
    publicJwk: JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }),
  };
}

/** `sealed.<header>.<payload>.<signature>` for `payload`, signed with `key` under `kid`. */
export async function seal(
  payload: unknown,
  key: CryptoKey,
  kid: string,
  header: Record<string, unknown> = { alg: "ES256", kid },
): Promise<string> {
  const h = b64u(enc.encode(JSON.stringify(header)));
  const p = b64u(enc.encode(JSON.stringify(payload)));
  const sig = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, enc.encode(`${h}.${p}`)),
  );
  return `sealed.${h}.${p}.${b64u(sig)}`;
}

/** A vault payload for provider kbs. */
export function vaultPayload(name: string, provider = "kbs"): Record<string, unknown> {
  return {
    version: "0.1.0",
    type: "vault",
    name,
    provider,
    provider_settings: {},
    annotations: {},
  };
}
