/**
 * The ocicrypt wire vocabulary (spec/guest.md §7.1–§7.2): annotation names, the `+encrypted`
 * media types, and the public / private layer-block-cipher option JSON as Go's
 * containers/ocicrypt writes it (`[]byte` fields are standard base64).
 */
import { isJsonObject } from "@coco/lib/json";
import { OcicryptError } from "./errors.ts";

/** Annotation carrying the comma-separated base64 JWE JSON recipients. */
export const ANNOTATION_JWE = "org.opencontainers.image.enc.keys.jwe";
/** Prefix of `…keys.provider.<name>` annotations (base64 of the provider's answer). */
export const ANNOTATION_PROVIDER_PREFIX = "org.opencontainers.image.enc.keys.provider.";
/** Annotation carrying the base64 public options JSON (cipher, hmac). */
export const ANNOTATION_PUBOPTS = "org.opencontainers.image.enc.pubopts";
/** Key-wrapping annotations we do not implement (Go ocicrypt only). */
export const UNSUPPORTED_WRAPPERS = [
  "org.opencontainers.image.enc.keys.pkcs7",
  "org.opencontainers.image.enc.keys.pgp",
  "org.opencontainers.image.enc.keys.pkcs11",
] as const;
/** The only block cipher ocicrypt defines. */
export const CIPHER = "AES_256_CTR_HMAC_SHA256";
const SUFFIX = "+encrypted";

/** The descriptor fields ocicrypt reads (structurally an OCI descriptor). */
export interface LayerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** True for `…+encrypted` layer media types. */
export function isEncryptedMediaType(mediaType: string): boolean {
  return mediaType.endsWith(SUFFIX);
}

/** The plaintext media type of an encrypted one (`…tar+gzip+encrypted` → `…tar+gzip`). */
export function decryptedMediaType(mediaType: string): string {
  if (!isEncryptedMediaType(mediaType)) {
    throw new OcicryptError("not-encrypted", `Media type ${mediaType} is not an encrypted layer`);
  }
  return mediaType.slice(0, -SUFFIX.length);
}

/** The encrypted media type of a plaintext one. */
export function encryptedMediaType(mediaType: string): string {
  if (isEncryptedMediaType(mediaType)) {
    throw new OcicryptError("bad-annotation", `Media type ${mediaType} is already encrypted`);
  }
  return mediaType + SUFFIX;
}

/** Public options: what anyone may read (cipher and the HMAC of the ciphertext). */
export interface PublicOptions {
  cipher: string;
  hmac: Uint8Array;
  cipherOptions: Record<string, Uint8Array>;
}

/** Private options (PLBCO): what the key wrappers protect. */
export interface PrivateOptions {
  symkey: Uint8Array;
  /** `sha256:<hex>` of the plaintext blob (still compressed); may be empty. */
  digest: string;
  cipherOptions: Record<string, Uint8Array>;
}

function b64(value: unknown, what: string): Uint8Array {
  if (typeof value !== "string") {
    throw new OcicryptError("bad-annotation", `Cannot parse ${what}: expected a base64 string`);
  }
  try {
    return Uint8Array.fromBase64(value);
  } catch (err) {
    throw new OcicryptError("bad-annotation", `Cannot parse ${what}: not base64`, { cause: err });
  }
}

function b64Map(value: unknown, what: string): Record<string, Uint8Array> {
  if (value === undefined || value === null) return {};
  if (!isJsonObject(value)) {
    throw new OcicryptError("bad-annotation", `Cannot parse ${what}: expected an object`);
  }
  const out: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(value)) out[k] = b64(v, `${what}.${k}`);
  return out;
}

function jsonObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new OcicryptError("bad-annotation", `Cannot parse ${what}: not JSON`, { cause: err });
  }
  if (!isJsonObject(value)) {
    throw new OcicryptError("bad-annotation", `Cannot parse ${what}: expected a JSON object`);
  }
  return value;
}

/** Parses the decoded `enc.pubopts` JSON (absent annotation → Go's defaults, which fail later). */
export function parsePublicOptions(bytes: Uint8Array): PublicOptions {
  const o = jsonObject(bytes, "public options");
  const cipher = o["cipher"];
  if (typeof cipher !== "string") {
    throw new OcicryptError("bad-annotation", "Cannot parse public options: cipher is missing");
  }
  return {
    cipher,
    hmac: b64(o["hmac"], "public options hmac"),
    cipherOptions: b64Map(o["cipheroptions"], "public options cipheroptions"),
  };
}

/** Parses the private options JSON a key wrapper released. */
export function parsePrivateOptions(bytes: Uint8Array): PrivateOptions {
  const o = jsonObject(bytes, "private options");
  const digest = o["digest"] ?? "";
  if (typeof digest !== "string") {
    throw new OcicryptError(
      "bad-annotation",
      "Cannot parse private options: digest is not a string",
    );
  }
  const symkey = b64(o["symkey"], "private options symkey");
  if (symkey.length !== 32) {
    throw new OcicryptError(
      "bad-annotation",
      `Cannot parse private options: symkey has ${symkey.length} bytes, expected 32`,
    );
  }
  return {
    symkey,
    digest,
    cipherOptions: b64Map(o["cipheroptions"], "private options cipheroptions"),
  };
}

const toB64Map = (m: Record<string, Uint8Array>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.toBase64()]));

/** Serializes public options in Go's field order. */
export function encodePublicOptions(p: PublicOptions): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    cipher: p.cipher,
    hmac: p.hmac.toBase64(),
    cipheroptions: toB64Map(p.cipherOptions),
  }));
}

/** Serializes private options in Go's field order (symkey, digest, cipheroptions). */
export function encodePrivateOptions(p: PrivateOptions): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    symkey: p.symkey.toBase64(),
    digest: p.digest,
    cipheroptions: toB64Map(p.cipherOptions),
  }));
}

/** Splits a comma-separated list of base64 values (`enc.keys.*` annotations). */
export function splitB64List(value: string, what: string): Uint8Array[] {
  return value.split(",").filter((s) => s !== "").map((s, i) => b64(s, `${what}[${i}]`));
}
