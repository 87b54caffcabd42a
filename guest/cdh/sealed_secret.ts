/**
 * Sealed secrets (spec/guest.md §3.6): `sealed.<b64u header>.<b64u payload>.<b64u signature>`, an
 * ES256 compact JWS whose `kid` names the P-256 public JWK (a `kbs://` URI, or a file under
 * {@linkcode SEALED_SECRET_KEY_DIR}). The payload is a `vault` secret (provider `kbs`: the
 * plaintext is the resource named by `name`) or an `envelope` secret (cloud KMS, not supported).
 */
import { resolve } from "node:path";
import { CodedError } from "@coco/lib/errors";
import { obj, str } from "@coco/lib/json/fields";

/** Where file `kid`s are looked up; the resolved path must stay inside. */
export const SEALED_SECRET_KEY_DIR = "/run/confidential-containers/cdh/sealed-secret";

/** Why a secret could not be unsealed. */
export type SealedSecretErrorCode = "bad-format" | "bad-signature" | "bad-key" | "unsupported";

/** Unseal failure. */
export class SealedSecretError extends CodedError<SealedSecretErrorCode> {}

/** The parsed payload. */
export type SecretPayload =
  | { version: "0.1.0"; type: "vault"; name: string; provider: string }
  | { version: "0.1.0"; type: "envelope"; provider: string };

/** What unsealing needs. */
export interface UnsealDeps {
  /** Fetches a `kbs://` resource (the verification JWK or a vault secret). */
  getResource(uri: string): Promise<Uint8Array>;
  skipVerification: boolean;
  keyDir?: string;
}

const dec = new TextDecoder();
const fail = (code: SealedSecretErrorCode, msg: string, cause?: unknown): never => {
  throw new SealedSecretError(code, `Cannot unseal secret: ${msg}`, cause ? { cause } : undefined);
};

function b64u(part: string, what: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) fail("bad-format", `${what} is not unpadded base64url`);
  try {
    return Uint8Array.fromBase64(part, { alphabet: "base64url" });
  } catch (err) {
    return fail("bad-format", `${what} is not base64url`, err);
  }
}

function json(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    return obj(JSON.parse(dec.decode(bytes)), what);
  } catch (err) {
    return fail("bad-format", `${what} is not a JSON object`, err);
  }
}

/** Parses the payload JSON (`version` must be `0.1.0`). */
export function parseSecretPayload(o: Record<string, unknown>): SecretPayload {
  try {
    if (o.version !== "0.1.0") {
      throw new TypeError(`version ${JSON.stringify(o.version)} is not "0.1.0"`);
    }
    const type = str(o.type, "type");
    const provider = str(o.provider, "provider");
    if (type === "vault") return { version: "0.1.0", type, provider, name: str(o.name, "name") };
    if (type === "envelope") return { version: "0.1.0", type, provider };
    throw new TypeError(`type \`${type}\` is not vault or envelope`);
  } catch (err) {
    if (err instanceof SealedSecretError) throw err;
    return fail("bad-format", `payload ${(err as Error).message}`, err);
  }
}

async function loadKey(kid: string, deps: UnsealDeps): Promise<Uint8Array> {
  if (/^kbs(\+[^:]*)?:\/\//.test(kid)) return await deps.getResource(kid);
  const dir = deps.keyDir ?? SEALED_SECRET_KEY_DIR;
  const path = resolve(dir, kid);
  let real: string;
  try {
    real = await Deno.realPath(path);
  } catch (err) {
    return fail("bad-key", `key file for kid \`${kid}\` not found under ${dir}`, err);
  }
  const realDir = await Deno.realPath(dir);
  if (!real.startsWith(realDir + "/")) fail("bad-key", `kid \`${kid}\` escapes ${dir}`);
  return await Deno.readFile(real);
}

async function verify(jws: string, deps: UnsealDeps): Promise<Uint8Array> {
  const parts = jws.split(".");
  if (parts.length !== 3) fail("bad-format", `expected sealed.<header>.<payload>.<signature>`);
  const [h, p, s] = parts as [string, string, string];
  const header = json(b64u(h, "JWS header"), "JWS header");
  if (header.alg !== "ES256") {
    fail("unsupported", `JWS alg ${JSON.stringify(header.alg)} is not ES256`);
  }
  if (typeof header.kid !== "string" || header.kid === "") {
    fail("bad-format", "JWS header has no kid");
  }
  const kid = header.kid as string;
  const jwk = json(await loadKey(kid, deps), `verification key \`${kid}\``);
  let key: CryptoKey;
  try {
    if (jwk.kty !== "EC" || jwk.crv !== "P-256") throw new TypeError("not an EC P-256 JWK");
    const { d: _d, ...pub } = jwk;
    key = await crypto.subtle.importKey(
      "jwk",
      pub as JsonWebKey,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
  } catch (err) {
    return fail("bad-key", `verification key \`${kid}\` is not a P-256 public JWK`, err);
  }
  const signature = b64u(s, "JWS signature");
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    signature,
    new TextEncoder().encode(`${h}.${p}`),
  ).catch(() => false);
  if (!ok) fail("bad-signature", `signature does not verify with key \`${kid}\``);
  return b64u(p, "JWS payload");
}

/** Unseals `secret` (bytes of `sealed.…`) and returns the plaintext. */
export async function unsealSecret(secret: Uint8Array, deps: UnsealDeps): Promise<Uint8Array> {
  const text = dec.decode(secret).trim();
  if (!text.startsWith("sealed.")) fail("bad-format", "secret does not start with `sealed.`");
  let payloadBytes: Uint8Array;
  if (deps.skipVerification) {
    const parts = text.split(".");
    if (parts.length !== 4) fail("bad-format", "expected sealed.<header>.<payload>.<signature>");
    payloadBytes = b64u(parts[2]!, "JWS payload");
  } else {
    payloadBytes = await verify(text.slice("sealed.".length), deps);
  }
  const payload = parseSecretPayload(json(payloadBytes, "payload"));
  const provider = payload.provider.toLowerCase();
  if (payload.type === "vault" && provider === "kbs") return await deps.getResource(payload.name);
  return fail(
    "unsupported",
    `${payload.type} secret provider \`${payload.provider}\` is not supported (only vault secrets with provider kbs)`,
  );
}
