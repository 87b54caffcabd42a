/**
 * The `registries.conf` (containers-registries.conf v2) subset image-rs honours: `[[registry]]`
 * with `prefix`, `location`, `insecure`, `blocked` and `[[registry.mirror]]` entries, plus
 * `unqualified-search-registries` for short names. {@link pullSources} turns a reference into the
 * ordered list of places to try: each mirror, then the (possibly remapped) primary.
 *
 * @module
 */
import { parse as parseToml } from "smol-toml";
import { isJsonObject } from "@coco/lib/json";
import { DOCKER_HUB, type ImageReference, isShortName, referenceAt } from "@coco/lib/oci";
import { ImageError } from "./errors.ts";

/** One mirror of a registry rule. */
export interface Mirror {
  location: string;
  insecure: boolean;
}

/** One `[[registry]]` entry, resolved. */
export interface RegistryRule {
  prefix: string;
  location: string | undefined;
  insecure: boolean;
  blocked: boolean;
  mirrors: Mirror[];
}

/** A resolved registries.conf. */
export interface RegistriesConf {
  unqualifiedSearchRegistries: string[];
  registries: RegistryRule[];
}

/** One place to pull from. */
export interface PullSource {
  reference: ImageReference;
  /** Plain HTTP. */
  insecure: boolean;
  /** From a mirror entry (not the primary location). */
  mirror: boolean;
}

/** The configuration used when none is given: Docker Hub for short names, no rules. */
export const DEFAULT_REGISTRIES_CONF: RegistriesConf = {
  unqualifiedSearchRegistries: [DOCKER_HUB],
  registries: [],
};

// Upstream keys we read past without acting on them.
const IGNORED_TOP = [
  "short-name-mode",
  "credential-helpers",
  "aliases",
  "additional-layer-store-auth-helper",
];
const IGNORED_RULE = ["mirror-by-digest-only", "pull-from-mirror"];

function fail(source: string, why: string): never {
  throw new ImageError("invalid_config_file", `Invalid registries config ${source}: ${why}`);
}

function allow(o: Record<string, unknown>, keys: string[], path: string, source: string) {
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) fail(source, `${path}: unknown key "${k}"`);
  }
}

function optBool(v: unknown, path: string, source: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== "boolean") fail(source, `${path} must be a boolean`);
  return v;
}

function optString(v: unknown, path: string, source: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") fail(source, `${path} must be a string`);
  return v.replace(/\/+$/, "");
}

function parseRule(v: unknown, i: number, source: string): RegistryRule {
  const path = `registry[${i}]`;
  if (!isJsonObject(v)) fail(source, `${path} must be a table`);
  allow(v, ["prefix", "location", "insecure", "blocked", "mirror", ...IGNORED_RULE], path, source);
  const location = optString(v.location, `${path}.location`, source) || undefined;
  const prefix = optString(v.prefix, `${path}.prefix`, source) || location;
  if (prefix === undefined) fail(source, `${path} needs a prefix or a location`);
  if (prefix.includes("*") && !/^\*\.[^*/]+$/.test(prefix)) {
    fail(source, `${path}.prefix "${prefix}": a wildcard must be "*.domain" with nothing after it`);
  }
  if (prefix.startsWith("*.") && v.location !== undefined) {
    fail(source, `${path}: a wildcard prefix cannot be remapped with location`);
  }
  const mirrorsRaw = v.mirror ?? [];
  if (!Array.isArray(mirrorsRaw)) fail(source, `${path}.mirror must be an array of tables`);
  const mirrors = mirrorsRaw.map((m: unknown, j: number): Mirror => {
    const mp = `${path}.mirror[${j}]`;
    if (!isJsonObject(m)) fail(source, `${mp} must be a table`);
    allow(m, ["location", "insecure", ...IGNORED_RULE], mp, source);
    const loc = optString(m.location, `${mp}.location`, source);
    if (!loc) fail(source, `${mp}.location must be a non-empty string`);
    return { location: loc, insecure: optBool(m.insecure, `${mp}.insecure`, source) };
  });
  return {
    prefix,
    location,
    insecure: optBool(v.insecure, `${path}.insecure`, source),
    blocked: optBool(v.blocked, `${path}.blocked`, source),
    mirrors,
  };
}

/** Parses registries.conf TOML text; errors name the file and the key. */
export function parseRegistriesConf(text: string, source = "registries.conf"): RegistriesConf {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text);
  } catch (e) {
    fail(source, `not valid TOML (${e instanceof Error ? e.message.split("\n")[0] : e})`);
  }
  return parseRegistriesConfValue(doc, source);
}

/**
 * Parses an already-decoded registries config (the inline `[image.registry_config]` table of
 * cdh.toml, or a decoded TOML document); errors name `source` and the key.
 */
export function parseRegistriesConfValue(
  doc: unknown,
  source = "registries.conf",
): RegistriesConf {
  if (!isJsonObject(doc)) fail(source, "must be a table");
  allow(doc, ["unqualified-search-registries", "registry", ...IGNORED_TOP], "top level", source);
  const usr = doc["unqualified-search-registries"];
  if (usr !== undefined && (!Array.isArray(usr) || usr.some((x) => typeof x !== "string" || !x))) {
    fail(source, "unqualified-search-registries must be an array of non-empty strings");
  }
  const regs = doc.registry ?? [];
  if (!Array.isArray(regs)) fail(source, "registry must be an array of tables ([[registry]])");
  return {
    unqualifiedSearchRegistries: (usr as string[] | undefined) ?? [DOCKER_HUB],
    registries: regs.map((r, i) => parseRule(r, i, source)),
  };
}

/** Reads and parses a registries.conf file. */
export async function loadRegistriesConf(path: string): Promise<RegistriesConf> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ImageError(
      "invalid_config_file",
      `Cannot read registries config ${path}: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
  return parseRegistriesConf(text, path);
}

/** Length of the match of `rule` on `ref`, or -1. Prefixes are anchored at the start. */
function matchLength(rule: RegistryRule, ref: ImageReference, full: string): number {
  if (rule.prefix.startsWith("*.")) {
    return ref.registry.endsWith(rule.prefix.slice(1)) ? ref.registry.length : -1;
  }
  if (!full.startsWith(rule.prefix)) return -1;
  const next = full[rule.prefix.length];
  return next === undefined || ":/@".includes(next) ? rule.prefix.length : -1;
}

function at(location: string, rest: string): ImageReference {
  const target = `${location}${rest}`;
  const slash = target.indexOf("/");
  if (slash === -1) {
    throw new ImageError(
      "invalid_config_file",
      `Rewritten reference "${target}" has no repository`,
    );
  }
  return referenceAt(target.slice(0, slash), target.slice(slash + 1));
}

/** Sources for one candidate reference after applying the longest matching rule. */
function sourcesFor(conf: RegistriesConf, ref: ImageReference): PullSource[] {
  const full = ref.toString();
  let best: RegistryRule | undefined;
  let bestLen = -1;
  for (const rule of conf.registries) {
    const n = matchLength(rule, ref, full);
    if (n > bestLen) [best, bestLen] = [rule, n];
  }
  if (!best) return [{ reference: ref, insecure: false, mirror: false }];
  if (best.blocked) return [];
  const rest = full.slice(bestLen);
  const out: PullSource[] = best.mirrors.map((m) => ({
    reference: at(m.location, rest),
    insecure: m.insecure,
    mirror: true,
  }));
  out.push({
    reference: best.location ? at(best.location, rest) : ref,
    insecure: best.insecure,
    mirror: false,
  });
  return out;
}

/**
 * The ordered places to pull `ref` from. `input` is the reference as the user wrote it: a short
 * name (no registry) is tried at each unqualified-search registry. Throws `blocked` when every
 * candidate is blocked.
 */
export function pullSources(
  conf: RegistriesConf,
  ref: ImageReference,
  input: string,
): PullSource[] {
  let candidates = [ref];
  if (isShortName(input) && ref.registry === DOCKER_HUB) {
    candidates = conf.unqualifiedSearchRegistries.map((r) =>
      r === DOCKER_HUB
        ? ref
        : ref.with({ registry: r, repository: ref.repository.replace(/^library\//, "") })
    );
  }
  const out = candidates.flatMap((c) => sourcesFor(conf, c));
  if (out.length === 0) {
    throw new ImageError("blocked", `Image ${ref.toString()} is blocked by a registry rule`);
  }
  return out;
}
