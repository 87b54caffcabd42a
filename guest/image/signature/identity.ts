/**
 * `signedIdentity` rules (spec/guest.md §6.2) comparing the image being pulled ("intended")
 * with the `docker-reference` a signature claims. Both are parsed and normalised (as
 * containers/image does; image-rs compares raw strings), so `busybox` and
 * `docker.io/library/busybox` are the same name.
 */
import { isJsonObject } from "@coco/lib/json";
import { ImageReference, parseReference } from "@coco/lib/oci";
import { SignatureError } from "./errors.ts";

/** A parsed `signedIdentity`. */
export type SignedIdentity =
  | { type: "matchExact" | "matchRepoDigestOrExact" | "matchRepository" }
  | { type: "exactReference"; dockerReference: ImageReference }
  | { type: "exactRepository"; dockerRepository: ImageReference }
  | { type: "remapIdentity"; prefix: string; signedPrefix: string };

/**
 * Parses a reference as written in a signature or policy: like {@linkcode parseReference} but
 * without inventing `:latest` when neither tag nor digest is given.
 */
export function parseClaimedReference(s: string): ImageReference {
  const r = parseReference(s);
  const noDigest = s.split("@")[0]!;
  const hasTag = noDigest.lastIndexOf(":") > noDigest.lastIndexOf("/");
  return hasTag || r.digest
    ? r
    : new ImageReference(r.registry, r.repository, undefined, undefined);
}

const PREFIX = /^[a-zA-Z0-9.-]+(?::\d+)?(?:\/[a-z0-9._-]+)*$/;

/** Parses `signedIdentity` (absent → the requirement type's default). */
export function parseSignedIdentity(v: unknown, path: string, req: string): SignedIdentity {
  const fail = (why: string): never => {
    throw new SignatureError("invalid-policy", `Invalid policy: ${path}: ${why}`);
  };
  // sigstoreSigned: cosign payloads name the repository only, so the default matches on it.
  if (v === undefined) {
    return { type: req === "sigstoreSigned" ? "matchRepository" : "matchRepoDigestOrExact" };
  }
  if (!isJsonObject(v)) return fail("must be an object");
  const ref = (field: string, named: boolean): ImageReference => {
    const s = v[field];
    if (typeof s !== "string") return fail(`${field} is required`);
    try {
      const r = parseClaimedReference(s);
      if (named && r.tag === undefined && r.digest === undefined) {
        fail(`${field} must have a tag or digest`);
      }
      if (!named && (r.tag !== undefined || r.digest !== undefined)) {
        fail(`${field} must be a repository`);
      }
      return r;
    } catch (err) {
      if (err instanceof SignatureError) throw err;
      return fail(`${field}: ${(err as Error).message}`);
    }
  };
  const keys = (allowed: string[]) => {
    for (const k of Object.keys(v)) if (!allowed.includes(k)) fail(`unknown field "${k}"`);
  };
  switch (v["type"]) {
    case "matchExact":
    case "matchRepoDigestOrExact":
    case "matchRepository":
      keys(["type"]);
      return { type: v["type"] };
    case "exactReference":
      keys(["type", "dockerReference"]);
      return { type: "exactReference", dockerReference: ref("dockerReference", true) };
    case "exactRepository":
      keys(["type", "dockerRepository"]);
      return { type: "exactRepository", dockerRepository: ref("dockerRepository", false) };
    case "remapIdentity": {
      keys(["type", "prefix", "signedPrefix"]);
      const prefix = v["prefix"], signedPrefix = v["signedPrefix"];
      if (typeof prefix !== "string" || !PREFIX.test(prefix)) return fail("prefix is invalid");
      if (typeof signedPrefix !== "string" || !PREFIX.test(signedPrefix)) {
        return fail("signedPrefix is invalid");
      }
      return { type: "remapIdentity", prefix, signedPrefix };
    }
    default:
      return fail(`unknown type ${JSON.stringify(v["type"])}`);
  }
}

const full = (r: ImageReference) => r.toString();

function repoDigestOrExact(intended: ImageReference, signed: ImageReference): boolean {
  if (intended.digest !== undefined) return intended.name === signed.name;
  if (intended.tag !== undefined) return full(intended) === full(signed);
  return false;
}

function matchesPrefix(name: string, prefix: string): boolean {
  return name === prefix || name.startsWith(prefix + "/");
}

/** True when a signature claiming `signed` is acceptable for pulling `intended` under `rule`. */
export function identityMatches(
  rule: SignedIdentity,
  intended: ImageReference,
  signed: ImageReference,
): boolean {
  switch (rule.type) {
    case "matchExact":
      return intended.tag !== undefined && full(intended) === full(signed);
    case "matchRepoDigestOrExact":
      return repoDigestOrExact(intended, signed);
    case "matchRepository":
      return intended.name === signed.name;
    case "exactReference":
      return full(rule.dockerReference) === full(signed);
    case "exactRepository":
      return rule.dockerRepository.name === signed.name;
    case "remapIdentity": {
      const s = full(intended);
      if (!matchesPrefix(intended.name, rule.prefix)) return repoDigestOrExact(intended, signed);
      const rewritten = rule.signedPrefix + s.slice(rule.prefix.length);
      let remapped: ImageReference;
      try {
        remapped = parseReference(rewritten);
      } catch {
        return false;
      }
      return repoDigestOrExact(remapped, signed);
    }
  }
}
