/**
 * The "simple signing" payload (atomic container signature JSON, spec/guest.md §6.3–§6.4),
 * parsed strictly as containers/image does: `critical` has exactly `type`, `image`, `identity`;
 * `image` exactly `docker-manifest-digest`; `identity` exactly `docker-reference`; `type` must be
 * the one expected for the signature kind.
 */
import { isJsonObject } from "@coco/lib/json";
import type { ImageReference } from "@coco/lib/oci";
import { SignatureError } from "./errors.ts";
import { parseClaimedReference } from "./identity.ts";

/** `critical.type` of GPG simple signatures. */
export const ATOMIC_TYPE = "atomic container signature";
/** `critical.type` of cosign signatures. */
export const COSIGN_TYPE = "cosign container image signature";

/** What a verified payload claims. */
export interface SignedClaims {
  dockerReference: ImageReference;
  manifestDigest: string;
}

function exact(o: unknown, fields: string[], path: string): Record<string, unknown> {
  if (!isJsonObject(o)) throw bad(`${path} must be an object`);
  const keys = Object.keys(o);
  for (const f of fields) if (!keys.includes(f)) throw bad(`${path}.${f} is missing`);
  for (const k of keys) if (!fields.includes(k)) throw bad(`${path} has unexpected field "${k}"`);
  return o;
}

const bad = (why: string) =>
  new SignatureError("invalid-signature", `Invalid signature payload: ${why}`);

/** Parses a payload; `type` is the `critical.type` required. */
export function parseSignedPayload(bytes: Uint8Array, type: string): SignedClaims {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (err) {
    throw new SignatureError("invalid-signature", "Invalid signature payload: not JSON", {
      cause: err,
    });
  }
  if (!isJsonObject(v)) throw bad("must be an object");
  const root = exact(v, ["critical", "optional"], "(root)");
  const optional = root["optional"];
  if (optional !== undefined && optional !== null && !isJsonObject(optional)) {
    throw bad("optional must be an object");
  }
  const critical = exact(root["critical"], ["type", "image", "identity"], "critical");
  if (critical["type"] !== type) {
    throw bad(`critical.type is ${JSON.stringify(critical["type"])}, expected "${type}"`);
  }
  const image = exact(critical["image"], ["docker-manifest-digest"], "critical.image");
  const identity = exact(critical["identity"], ["docker-reference"], "critical.identity");
  const digest = image["docker-manifest-digest"];
  if (typeof digest !== "string" || !/^sha(256|384|512):[0-9a-f]+$/.test(digest)) {
    throw bad("critical.image.docker-manifest-digest is not a digest");
  }
  const ref = identity["docker-reference"];
  if (typeof ref !== "string") throw bad("critical.identity.docker-reference is not a string");
  let dockerReference: ImageReference;
  try {
    dockerReference = parseClaimedReference(ref);
  } catch (err) {
    throw new SignatureError(
      "invalid-signature",
      `Invalid signature payload: docker-reference ${JSON.stringify(ref)}: ${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
  return { dockerReference, manifestDigest: digest };
}

/** Serializes a payload (for tests and tooling). */
export function encodeSignedPayload(
  dockerReference: string,
  manifestDigest: string,
  type: string,
): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    critical: {
      identity: { "docker-reference": dockerReference },
      image: { "docker-manifest-digest": manifestDigest },
      type,
    },
    optional: type === ATOMIC_TYPE ? { creator: "coco-deno" } : null,
  }));
}
