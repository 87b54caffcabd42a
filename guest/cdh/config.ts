/**
 * `cdh.toml` (spec/guest.md §3.2): `socket`, `skip_sealed_secret_verification`, `[aa] aa_socket`,
 * the required `[kbc]` section, `[[credentials]]` and `[image]` (image pull, see image_config.ts).
 * Other unknown top-level keys are ignored.
 */
import { ConfigError, inConfig, loadConfigFile } from "@coco/lib/config";
import { bool, obj, optStr, str } from "@coco/lib/json/fields";
import { parseResourceUri } from "@coco/lib/kbs";
import { type LogLevel, parseLogLevel } from "@coco/lib/log";
import { DEFAULT_AA_SOCKET } from "../attestation_agent/config.ts";
import { type ImagePullConfig, parseImagePullConfig } from "./image_config.ts";

/** Default CDH ttrpc socket. */
export const DEFAULT_CDH_SOCKET = "unix:///run/confidential-containers/cdh.sock";
/** Credential files must live under this directory (§3.3). */
export const CREDENTIALS_DIR = "/run/confidential-containers/cdh/kbs";

/** The key broker client: a discriminated union on `name`. */
export type KbcConfig =
  | { name: "cc_kbc"; url: string; kbsCert?: string }
  | { name: "offline_fs_kbc" };

/** A resource written to disk at start-up. */
export interface Credential {
  resourceUri: string;
  path: string;
}

/** A complete CDH configuration. */
export interface CdhConfig {
  socket: string;
  skipSealedSecretVerification: boolean;
  aaSocket: string;
  kbc: KbcConfig;
  credentials: Credential[];
  /** The `[image]` section (defaults when absent). */
  image: ImagePullConfig;
  log: { level: LogLevel };
}

function parseKbc(input: unknown): KbcConfig {
  if (input === undefined) throw new TypeError("missing required section [kbc]");
  const o = obj(input, "kbc");
  const name = str(o.name, "kbc.name");
  if (name === "offline_fs_kbc") return { name };
  if (name !== "cc_kbc") {
    throw new TypeError(`kbc.name \`${name}\` is not one of cc_kbc, offline_fs_kbc`);
  }
  const url = (optStr(o.url, "kbc.url") ?? "").replace(/\/+$/, "");
  try {
    new URL(url);
  } catch {
    throw new TypeError(`kbc.url \`${url}\` is not a URL (required for cc_kbc)`);
  }
  const cert = optStr(o.kbs_cert, "kbc.kbs_cert");
  return { name, url, ...(cert ? { kbsCert: cert } : {}) };
}

/** Checks a credential path: under {@linkcode CREDENTIALS_DIR}, no `.` or `..` components. */
export function checkCredentialPath(path: string, key: string): string {
  const parts = path.split("/");
  if (!path.startsWith(CREDENTIALS_DIR + "/") || parts.some((p) => p === "." || p === "..")) {
    throw new TypeError(
      `${key} \`${path}\` must be under ${CREDENTIALS_DIR}/ without . or .. components`,
    );
  }
  return path;
}

function parseCredentials(input: unknown): Credential[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) throw new TypeError("credentials must be an array of tables");
  return input.map((c, i) => {
    const o = obj(c, `credentials[${i}]`);
    const resourceUri = str(o.resource_uri, `credentials[${i}].resource_uri`);
    try {
      parseResourceUri(resourceUri);
    } catch (err) {
      throw new TypeError(`credentials[${i}].resource_uri: ${(err as Error).message}`);
    }
    return {
      resourceUri,
      path: checkCredentialPath(str(o.path, `credentials[${i}].path`), `credentials[${i}].path`),
    };
  });
}

/** Defaults a caller may override (the all-in-one process points `aaSocket` at its own AA). */
export interface CdhDefaults {
  aaSocket?: string;
  socket?: string;
}

/** Parses an already-decoded `cdh.toml` (or the `[cdh]` table of guest.toml). */
export function parseCdhConfig(
  input: unknown,
  file: string,
  defaults: CdhDefaults = {},
): CdhConfig {
  return inConfig(file, () => {
    const o = obj(input ?? {}, "cdh config");
    const aa = o.aa === undefined ? {} : obj(o.aa, "aa");
    const log = o.log === undefined ? {} : obj(o.log, "log");
    return {
      socket: optStr(o.socket, "socket") ?? defaults.socket ?? DEFAULT_CDH_SOCKET,
      skipSealedSecretVerification: o.skip_sealed_secret_verification === undefined
        ? false
        : bool(o.skip_sealed_secret_verification, "skip_sealed_secret_verification"),
      aaSocket: optStr(aa.aa_socket, "aa.aa_socket") ?? defaults.aaSocket ?? DEFAULT_AA_SOCKET,
      kbc: parseKbc(o.kbc),
      credentials: parseCredentials(o.credentials),
      image: parseImagePullConfig(o.image),
      log: { level: parseLogLevel(optStr(log.level, "log.level")) },
    };
  });
}

/** Reads and parses a `cdh.toml` / `.json` / `.yaml` file. */
export async function loadCdhConfig(path: string): Promise<CdhConfig> {
  return parseCdhConfig(await loadConfigFile(path), path);
}

/** The config used without `-c`: `[kbc]` from `AA_KBC_PARAMS` (`<kbc>::<url>`), else offline. */
export function cdhConfigFromKbcParams(params: string | undefined): CdhConfig {
  const raw = params || "offline_fs_kbc::";
  const parts = raw.split("::");
  if (parts.length !== 2) {
    throw new ConfigError("invalid", `Invalid AA_KBC_PARAMS \`${raw}\`: expected <kbc>::<url>`);
  }
  return parseCdhConfig({ kbc: { name: parts[0], url: parts[1] } }, "AA_KBC_PARAMS");
}
