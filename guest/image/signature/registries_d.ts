/**
 * registries.d (containers-registries.d(5)): YAML documents that say where a repository's
 * lookaside signatures live. Keys: `default-docker` and `docker.<scope>` each with `lookaside`
 * (or the older name `sigstore`), plus write-side `lookaside-staging`/`sigstore-staging` and
 * `use-sigstore-attachments`, which are accepted and ignored for reading. Several documents
 * merge; the same scope (or two `default-docker`) in two documents is an error, as upstream.
 */
import { parse as parseYaml } from "yaml";
import { isJsonObject } from "@coco/lib/json";
import type { ImageReference } from "@coco/lib/oci";
import { SignatureError } from "./errors.ts";
import { lookupScope } from "./scope.ts";

/** A namespace's lookaside settings. */
export interface LookasideEntry {
  /** Base URL for reading (`file://…`, `http(s)://…`). */
  lookaside?: string;
}

/** Merged registries.d configuration. */
export interface RegistriesD {
  defaultDocker?: LookasideEntry;
  docker: Record<string, LookasideEntry>;
}

const FIELDS = [
  "lookaside",
  "lookaside-staging",
  "sigstore",
  "sigstore-staging",
  "use-sigstore-attachments",
];

function entry(v: unknown, path: string): LookasideEntry {
  const fail = (why: string): never => {
    throw new SignatureError("invalid-registries-d", `Invalid registries.d ${path}: ${why}`);
  };
  if (v === null || v === undefined) return {};
  if (!isJsonObject(v)) return fail("must be a mapping");
  for (const k of Object.keys(v)) if (!FIELDS.includes(k)) fail(`unknown field "${k}"`);
  const base = v["lookaside"] ?? v["sigstore"];
  if (base === undefined) return {};
  if (typeof base !== "string") return fail("lookaside must be a string");
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return fail(`lookaside ${JSON.stringify(base)} is not a URL`);
  }
  if (!["file:", "http:", "https:"].includes(url.protocol)) {
    fail(`lookaside scheme ${url.protocol} is not file, http or https`);
  }
  return { lookaside: base };
}

/** Parses and merges registries.d documents (`name` is used in errors). */
export function parseRegistriesD(docs: readonly { name: string; text: string }[]): RegistriesD {
  const out: RegistriesD = { docker: {} };
  for (const { name, text } of docs) {
    let v: unknown;
    try {
      v = parseYaml(text);
    } catch (err) {
      throw new SignatureError("invalid-registries-d", `Invalid registries.d ${name}: ${err}`, {
        cause: err,
      });
    }
    if (v === null || v === undefined) continue;
    if (!isJsonObject(v)) {
      throw new SignatureError(
        "invalid-registries-d",
        `Invalid registries.d ${name}: not a mapping`,
      );
    }
    for (const k of Object.keys(v)) {
      if (k !== "default-docker" && k !== "docker") {
        throw new SignatureError(
          "invalid-registries-d",
          `Invalid registries.d ${name}: unknown top-level key "${k}"`,
        );
      }
    }
    if (v["default-docker"] !== undefined) {
      if (out.defaultDocker) {
        throw new SignatureError(
          "invalid-registries-d",
          `Invalid registries.d ${name}: default-docker is defined twice`,
        );
      }
      out.defaultDocker = entry(v["default-docker"], `${name} default-docker`);
    }
    const docker = v["docker"] ?? {};
    if (!isJsonObject(docker)) {
      throw new SignatureError(
        "invalid-registries-d",
        `Invalid registries.d ${name}: docker must be a mapping`,
      );
    }
    for (const [scope, e] of Object.entries(docker)) {
      if (Object.hasOwn(out.docker, scope)) {
        throw new SignatureError(
          "invalid-registries-d",
          `Invalid registries.d ${name}: scope ${scope} is defined twice`,
        );
      }
      out.docker[scope] = entry(e, `${name} docker["${scope}"]`);
    }
  }
  return out;
}

/** Reads every `*.yaml` in a registries.d directory, in name order. */
export async function loadRegistriesDDir(dir: string): Promise<RegistriesD> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".yaml")) names.push(e.name);
  }
  names.sort();
  const docs = await Promise.all(
    names.map(async (n) => ({ name: `${dir}/${n}`, text: await Deno.readTextFile(`${dir}/${n}`) })),
  );
  return parseRegistriesD(docs);
}

/** The lookaside base URL for `ref` (most specific scope first, then default-docker). */
export function lookasideBase(config: RegistriesD, ref: ImageReference): string | undefined {
  for (const scope of scopesWithLookaside(config)) {
    const hit = lookupScope(ref, scope);
    if (hit) return hit.value.lookaside;
  }
  return config.defaultDocker?.lookaside;
}

function scopesWithLookaside(config: RegistriesD): Record<string, LookasideEntry>[] {
  const table: Record<string, LookasideEntry> = {};
  for (const [k, v] of Object.entries(config.docker)) if (v.lookaside) table[k] = v;
  return [table];
}

/** URL of signature `index` (1-based) for `digest` under `base`: `<base>/<repo>@sha256=<hex>/signature-N`. */
export function lookasideUrl(
  base: string,
  ref: ImageReference,
  digest: string,
  index: number,
): URL {
  const url = new URL(base);
  const dir = `${ref.repository}@${digest.replace(":", "=")}`;
  url.pathname = `${url.pathname.replace(/\/$/, "")}/${dir}/signature-${index}`;
  return url;
}
