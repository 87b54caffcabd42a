/**
 * Container image references with Docker normalisation, as `distribution/reference`
 * `ParseNormalizedNamed` does it: `busybox` → `docker.io/library/busybox:latest`,
 * `index.docker.io` → `docker.io`, `repo/img` → `docker.io/repo/img`, a registry is the first path
 * component when it contains `.` or `:`, is `localhost` or has uppercase letters.
 *
 * @module
 */
import { type Digest, parseDigest } from "./digest.ts";
import { clip } from "./digest.ts";
import { OciError } from "./errors.ts";

/** The registry Docker Hub references are normalised to. */
export const DOCKER_HUB = "docker.io";
/** Longest `registry/repository` accepted (distribution's NameTotalLengthMax). */
export const NAME_MAX = 255;
/** Longest reference string accepted at all, before any parsing. */
export const REFERENCE_MAX = 4096;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST_SHAPE = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const IDENTIFIER = /^[a-f0-9]{64}$/;

/** A parsed, normalised image reference. */
export class ImageReference {
  /** Registry host, with `:port` when given (`docker.io`, `localhost:5000`). */
  readonly registry: string;
  /** Repository path inside the registry (`library/busybox`). */
  readonly repository: string;
  /** Tag; `latest` when the input had neither tag nor digest. */
  readonly tag: string | undefined;
  /** Manifest digest when the reference pins one. */
  readonly digest: Digest | undefined;

  constructor(registry: string, repository: string, tag?: string, digest?: Digest) {
    this.registry = registry;
    this.repository = repository;
    this.tag = tag;
    this.digest = digest;
  }

  /** `registry/repository`. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** Normalised full form: `registry/repository[:tag][@digest]`. */
  toString(): string {
    return this.name + suffix(this.tag, this.digest);
  }

  /** Short form Docker prints: `busybox:latest`, `user/app:1`, `quay.io/x/y@sha256:…`. */
  familiar(): string {
    let name = this.name;
    if (this.registry === DOCKER_HUB) {
      const rest = this.repository;
      name = rest.startsWith("library/") && !rest.slice(8).includes("/") ? rest.slice(8) : rest;
    }
    return name + suffix(this.tag, this.digest);
  }

  /** The same tag/digest at another registry and/or repository. */
  with(parts: { registry?: string; repository?: string }): ImageReference {
    return referenceAt(
      parts.registry ?? this.registry,
      (parts.repository ?? this.repository) + suffix(this.tag, this.digest),
    );
  }
}

function suffix(tag: string | undefined, digest: string | undefined): string {
  return (tag === undefined ? "" : `:${tag}`) + (digest === undefined ? "" : `@${digest}`);
}

function fail(input: string, why: string): never {
  throw new OciError("invalid_reference", `Invalid image reference "${clip(input)}": ${why}`);
}

/** Splits `name` into registry and repository the way Docker does. */
function splitDomain(name: string): [string, string] {
  const i = name.indexOf("/");
  const first = i === -1 ? "" : name.slice(0, i);
  const isDomain = i !== -1 &&
    (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
  let domain = isDomain ? first : DOCKER_HUB;
  let repo = isDomain ? name.slice(i + 1) : name;
  if (domain === "index.docker.io") domain = DOCKER_HUB;
  if (domain === DOCKER_HUB && !repo.includes("/")) repo = `library/${repo}`;
  return [domain, repo];
}

/**
 * Parses and normalises an image reference; throws {@link OciError} `invalid_reference` naming
 * the input and the rule it broke.
 *
 * @example
 * ```ts
 * parseReference("busybox").toString(); // "docker.io/library/busybox:latest"
 * ```
 */
export function parseReference(input: string): ImageReference {
  if (typeof input !== "string" || input.length === 0) fail(String(input), "empty");
  if (input.length > REFERENCE_MAX) fail(input, `longer than ${REFERENCE_MAX} characters`);
  if (IDENTIFIER.test(input)) {
    fail(input, "a 64-character hexadecimal string is an image ID, not a repository name");
  }
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    const d = rest.slice(at + 1);
    if (!DIGEST_SHAPE.test(d)) fail(input, `malformed digest "${clip(d)}"`);
    try {
      digest = parseDigest(d, "reference digest");
    } catch (e) {
      fail(input, e instanceof Error ? e.message : String(e));
    }
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    if (!TAG.test(tag)) fail(input, `malformed tag "${clip(tag)}"`);
    rest = rest.slice(0, colon);
  }
  if (rest === "") fail(input, "missing repository name");
  const [registry, repository] = splitDomain(rest);
  if (!DOMAIN.test(registry)) fail(input, `malformed registry "${clip(registry)}"`);
  if (repository.toLowerCase() !== repository) {
    fail(input, `repository name "${clip(repository)}" must be lowercase`);
  }
  for (const part of repository.split("/")) {
    if (!PATH_COMPONENT.test(part)) {
      fail(input, `malformed repository path component "${clip(part)}"`);
    }
  }
  if (registry.length + 1 + repository.length > NAME_MAX) {
    fail(input, `repository name longer than ${NAME_MAX} characters`);
  }
  if (tag === undefined && digest === undefined) tag = "latest";
  return new ImageReference(registry, repository, tag, digest);
}

/**
 * Builds a reference from an explicit registry host and the rest (`repo[:tag][@digest]`), as
 * registries.conf rewrites need: the host is taken as a registry even when Docker's heuristic
 * would not (`mirror/x` means host `mirror`). No Docker Hub normalisation is applied to `rest`.
 */
export function referenceAt(registry: string, rest: string): ImageReference {
  if (!DOMAIN.test(registry)) {
    throw new OciError("invalid_reference", `Invalid registry host "${clip(registry)}"`);
  }
  const parsed = parseReference(`x.invalid/${rest}`);
  if (registry.length + 1 + parsed.repository.length > NAME_MAX) {
    throw new OciError(
      "invalid_reference",
      `Invalid image reference "${clip(`${registry}/${rest}`)}": name longer than ${NAME_MAX}`,
    );
  }
  return new ImageReference(registry, parsed.repository, parsed.tag, parsed.digest);
}

/** True when `input` names no registry (`busybox`, `user/app`): Docker Hub is implied. */
export function isShortName(input: string): boolean {
  const i = input.indexOf("/");
  if (i === -1) return true;
  const first = input.slice(0, i);
  return !(/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
}
