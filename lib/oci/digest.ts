/**
 * Content digests (`algorithm:hex`) as the OCI image spec defines them, with the registered
 * algorithms (sha256, sha512) checked strictly and others only by the generic grammar.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { OciError } from "./errors.ts";

/** A digest string `algorithm:encoded`. */
export type Digest = `${string}:${string}`;

/** Digest algorithms we can compute and verify. */
export type DigestAlgorithm = "sha256" | "sha512";

const GENERIC = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const HEX_LEN: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** True when `alg` is one of the algorithms we verify. */
export function isSupportedAlgorithm(alg: string): alg is DigestAlgorithm {
  return alg === "sha256" || alg === "sha512";
}

/**
 * Parses a digest string. Registered algorithms must carry lowercase hex of the right length;
 * other algorithms are accepted by grammar only when `allowUnknown` is set.
 */
export function parseDigest(value: unknown, what = "digest", allowUnknown = false): Digest {
  if (typeof value !== "string") {
    throw new OciError("invalid_digest", `Invalid ${what}: expected a string`);
  }
  if (value.length > 1024 || !GENERIC.test(value)) {
    throw new OciError("invalid_digest", `Invalid ${what} "${clip(value)}": not algorithm:hex`);
  }
  const i = value.indexOf(":");
  const alg = value.slice(0, i);
  const hex = value.slice(i + 1);
  if (isSupportedAlgorithm(alg)) {
    if (hex.length !== HEX_LEN[alg] || !/^[0-9a-f]+$/.test(hex)) {
      throw new OciError(
        "invalid_digest",
        `Invalid ${what} "${clip(value)}": ${alg} needs ${HEX_LEN[alg]} lowercase hex characters`,
      );
    }
  } else if (!allowUnknown) {
    throw new OciError("invalid_digest", `Invalid ${what} "${clip(value)}": unsupported algorithm`);
  }
  return value as Digest;
}

/** The algorithm part of a digest. */
export function digestAlgorithm(d: Digest): string {
  return d.slice(0, d.indexOf(":"));
}

/** The encoded (hex) part of a digest. */
export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(":") + 1);
}

/** Shortens untrusted input for error messages. */
export function clip(s: string, max = 80): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** Digest of `bytes` with `alg` (synchronous; for manifests and configs, not for layers). */
export function digestOf(bytes: Uint8Array, alg: DigestAlgorithm = "sha256"): Digest {
  return `${alg}:${createHash(alg).update(bytes).digest("hex")}`;
}

/**
 * Chain IDs of a layer stack, as the OCI image spec defines them: the first equals its diff_id,
 * each next one is `sha256(previous + " " + diff_id)`.
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) {
    const prev = out.at(-1);
    out.push(prev === undefined ? d : digestOf(new TextEncoder().encode(`${prev} ${d}`)));
  }
  return out;
}
