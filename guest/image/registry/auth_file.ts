/**
 * Registry credentials from a containers `auth.json` (`{"auths": {"<key>": {"auth": "<b64>"}}}`),
 * looked up as containers/image does: `host/ns/repo`, then each parent path down to `host`, then
 * any key whose normalised registry equals the image's (keys may be URLs such as
 * `https://index.docker.io/v1/`; `docker.io` and `registry-1.docker.io` mean `index.docker.io`).
 *
 * @module
 */
import { isJsonObject } from "@coco/lib/json";
import { ImageError } from "../errors.ts";

/** A username/password pair for Basic auth or the token endpoint. */
export interface Credentials {
  username: string;
  password: string;
}

/** Parsed auth.json: credentials by key as written in the file. */
export type AuthFile = Map<string, Credentials>;

function bad(source: string, why: string): never {
  throw new ImageError("invalid_config_file", `Invalid auth file ${source}: ${why}`);
}

function decodeAuth(b64: string, source: string, key: string): Credentials {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.fromBase64(b64.trim()));
  } catch {
    bad(source, `auths["${key}"].auth is not base64 of UTF-8 text`);
  }
  const i = text.indexOf(":");
  if (i <= 0) bad(source, `auths["${key}"].auth must encode "user:password"`);
  return { username: text.slice(0, i), password: text.slice(i + 1).replace(/\n$/, "") };
}

/** Parses an auth.json document; only `auths.*.auth` is read, other members are ignored. */
export function parseAuthFile(value: unknown, source = "auth.json"): AuthFile {
  if (!isJsonObject(value)) bad(source, "not a JSON object");
  const out: AuthFile = new Map();
  if (value.auths === undefined) return out;
  if (!isJsonObject(value.auths)) bad(source, "auths must be an object");
  for (const [key, entry] of Object.entries(value.auths)) {
    if (!isJsonObject(entry)) bad(source, `auths["${key}"] must be an object`);
    if (entry.auth === undefined || entry.auth === "") continue;
    if (typeof entry.auth !== "string") bad(source, `auths["${key}"].auth must be a string`);
    out.set(key, decodeAuth(entry.auth, source, key));
  }
  return out;
}

/** Reads and parses an auth.json file. */
export async function loadAuthFile(path: string): Promise<AuthFile> {
  let value: unknown;
  try {
    value = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new ImageError(
      "invalid_config_file",
      `Cannot read auth file ${path}: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
  return parseAuthFile(value, path);
}

function normalizeRegistry(host: string): string {
  return host === "docker.io" || host === "registry-1.docker.io" ? "index.docker.io" : host;
}

function keyRegistry(key: string): string {
  const noScheme = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  return normalizeRegistry(noScheme.split("/")[0] ?? "");
}

/** Finds credentials for `registry/repository`, or undefined (anonymous). */
export function lookupCredentials(
  file: AuthFile,
  registry: string,
  repository: string,
): Credentials | undefined {
  const parts = repository.split("/");
  for (let n = parts.length; n >= 0; n--) {
    const key = [registry, ...parts.slice(0, n)].join("/");
    const hit = file.get(key);
    if (hit) return hit;
  }
  const want = normalizeRegistry(registry);
  for (const [key, creds] of file) if (keyRegistry(key) === want) return creds;
  return undefined;
}
