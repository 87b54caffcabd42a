/**
 * cosign key-based signatures (spec/guest.md §6.4): the manifest tagged `sha256-<hex>.sig` in the
 * image's repository has one layer per signature, media type
 * `application/vnd.dev.cosign.simplesigning.v1+json`, whose blob is the simple-signing payload and
 * whose annotation `dev.cosignproject.cosign/signature` is the base64 signature over that blob
 * (ECDSA in ASN.1 DER, RSA PKCS#1 v1.5, or Ed25519). Transparency-log bundles are not checked.
 */
import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { isJsonObject } from "@coco/lib/json";
import { SignatureError } from "./errors.ts";

/** Media type of a cosign signature layer. */
export const COSIGN_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json";
/** Annotation holding the base64 signature. */
export const COSIGN_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";

/** The cosign signature tag for a manifest digest: `sha256-<hex>.sig`. */
export function cosignTag(digest: string): string {
  return `${digest.replace(":", "-")}.sig`;
}

/** One signature layer of the `.sig` manifest. */
export interface CosignLayer {
  digest: string;
  size: number;
  signature: Uint8Array;
}

/** Extracts the signature layers of a `.sig` manifest (other layers are ignored). */
export function parseCosignManifest(bytes: Uint8Array): CosignLayer[] {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new SignatureError("invalid-signature", "Invalid cosign manifest: not JSON", {
      cause: err,
    });
  }
  if (!isJsonObject(v) || !Array.isArray(v["layers"])) {
    throw new SignatureError("invalid-signature", "Invalid cosign manifest: no layers");
  }
  const out: CosignLayer[] = [];
  for (const l of v["layers"]) {
    if (!isJsonObject(l) || l["mediaType"] !== COSIGN_LAYER) continue;
    const ann = l["annotations"];
    const sig = isJsonObject(ann) ? ann[COSIGN_SIGNATURE_ANNOTATION] : undefined;
    const { digest, size } = l;
    if (typeof sig !== "string" || typeof digest !== "string" || typeof size !== "number") {
      throw new SignatureError("invalid-signature", "Invalid cosign manifest: malformed layer");
    }
    try {
      out.push({ digest, size, signature: Uint8Array.fromBase64(sig.replaceAll("\n", "")) });
    } catch (err) {
      throw new SignatureError("invalid-signature", "Invalid cosign signature: not base64", {
        cause: err,
      });
    }
  }
  return out;
}

/** A parsed cosign public key. */
export interface CosignKey {
  key: KeyObject;
  source: string;
}

/**
 * Parses a PEM public key. `keyData` may be PEM text (image-rs) or its base64 (containers):
 * both are accepted.
 */
export function parseCosignKey(bytes: Uint8Array, source: string): CosignKey {
  let text = new TextDecoder().decode(bytes).trim();
  if (!text.startsWith("-----BEGIN")) {
    try {
      text = new TextDecoder().decode(Uint8Array.fromBase64(text));
    } catch { /* reported below */ }
  }
  try {
    const key = createPublicKey({ key: text, format: "pem" });
    const t = key.asymmetricKeyType;
    if (t !== "ec" && t !== "rsa" && t !== "ed25519") throw new Error(`${t} keys are unsupported`);
    return { key, source };
  } catch (err) {
    throw new SignatureError(
      "invalid-key",
      `Cannot parse cosign public key ${source}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function hashFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === "ed25519") return null;
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === "secp384r1") return "sha384";
    if (curve === "secp521r1") return "sha512";
  }
  return "sha256";
}

/** True when `signature` over `payload` verifies with `key`. */
export function verifyCosignSignature(
  payload: Uint8Array,
  signature: Uint8Array,
  key: CosignKey,
): boolean {
  try {
    return verify(hashFor(key.key), payload, key.key, signature);
  } catch {
    return false;
  }
}
