/**
 * `aa.toml` (spec/guest.md §1.2): every section optional, unknown keys ignored as upstream.
 * The partial file is resolved once into a complete {@linkcode AaConfig}; errors name the key and
 * the file.
 */
import { ConfigError, inConfig, loadConfigFile } from "@coco/lib/config";
import { TEE_KEY_ALGORITHMS, type TeeKeyAlgorithm } from "@coco/lib/jose";
import { bool, num, obj, optStr, str } from "@coco/lib/json/fields";
import { type LogLevel, parseLogLevel } from "@coco/lib/log";
import { parseAkHandle, parseTpmTarget, type TpmSelection } from "../attester/mod.ts";

/** Default AA ttrpc socket. */
export const DEFAULT_AA_SOCKET =
  "unix:///run/confidential-containers/attestation-agent/attestation-agent.sock";

/** `[token_configs.kbs]`. */
export interface KbsTokenConfig {
  url: string;
  cert?: string;
  teeKeyAlgorithm: TeeKeyAlgorithm;
}

/** A complete AA configuration. */
export interface AaConfig {
  tokenConfigs: { kbs?: KbsTokenConfig; cocoAs?: { url: string } };
  eventlog: { initPcr: number; enableEventlog: boolean };
  log: { level: LogLevel };
  /**
   * `[tpm]` (ours; `[aa.tpm]` in guest.toml): `device` (`/dev/tpmrm0`, `unix:///sock`,
   * `tcp://host:port`) and `ak_handle` (hex). Env `AA_TPM_DEVICE` / `AA_TPM_AK_HANDLE` win.
   */
  tpm?: TpmSelection;
}

/** The configuration of an empty file. */
export function defaultAaConfig(): AaConfig {
  return {
    tokenConfigs: {},
    eventlog: { initPcr: 17, enableEventlog: false },
    log: { level: "info" },
  };
}

const section = (o: Record<string, unknown>, key: string, path: string) =>
  o[key] === undefined ? {} : obj(o[key], path);

function parseKbs(v: Record<string, unknown>): KbsTokenConfig {
  const url = str(v.url, "token_configs.kbs.url").replace(/\/+$/, "");
  try {
    new URL(url);
  } catch {
    throw new TypeError(`token_configs.kbs.url \`${url}\` is not a URL`);
  }
  const alg = optStr(v.tee_key_algorithm, "token_configs.kbs.tee_key_algorithm") ??
    "ECDH-ES+A256KW-P256";
  if (!(TEE_KEY_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new TypeError(
      `token_configs.kbs.tee_key_algorithm \`${alg}\` is not one of ${
        TEE_KEY_ALGORITHMS.join(", ")
      }`,
    );
  }
  const cert = optStr(v.cert, "token_configs.kbs.cert");
  return { url, teeKeyAlgorithm: alg as TeeKeyAlgorithm, ...(cert ? { cert } : {}) };
}

/** Parses an already-decoded `aa.toml` (or the `[aa]` table of guest.toml). */
export function parseAaConfig(input: unknown, file: string): AaConfig {
  return inConfig(file, () => {
    const o = obj(input ?? {}, "aa config");
    const out = defaultAaConfig();
    const tokens = section(o, "token_configs", "token_configs");
    if (tokens.kbs !== undefined) {
      out.tokenConfigs.kbs = parseKbs(obj(tokens.kbs, "token_configs.kbs"));
    }
    if (tokens.coco_as !== undefined) {
      const c = obj(tokens.coco_as, "token_configs.coco_as");
      out.tokenConfigs.cocoAs = {
        url: str(c.url, "token_configs.coco_as.url").replace(/\/+$/, ""),
      };
    }
    const ev = section(o, "eventlog_config", "eventlog_config");
    if (ev.init_pcr !== undefined) {
      const pcr = num(ev.init_pcr, "eventlog_config.init_pcr");
      if (!Number.isInteger(pcr) || pcr < 0 || pcr > 23) {
        throw new TypeError(`eventlog_config.init_pcr must be an integer 0–23, got ${pcr}`);
      }
      out.eventlog.initPcr = pcr;
    }
    if (ev.enable_eventlog !== undefined) {
      out.eventlog.enableEventlog = bool(ev.enable_eventlog, "eventlog_config.enable_eventlog");
    }
    const tpm = section(o, "tpm", "tpm");
    if (Object.keys(tpm).length > 0) {
      const device = optStr(tpm.device, "tpm.device");
      if (device !== undefined) parseTpmTarget(device);
      const handle = tpm.ak_handle === undefined
        ? undefined
        : parseAkHandle(str(tpm.ak_handle, "tpm.ak_handle"));
      out.tpm = {
        ...(device !== undefined ? { device } : {}),
        ...(handle !== undefined ? { akHandle: handle } : {}),
      };
    }
    const log = section(o, "log", "log");
    if (log.level !== undefined) out.log.level = parseLogLevel(str(log.level, "log.level"));
    return out;
  });
}

/** Reads and parses an `aa.toml` / `.json` / `.yaml` file. */
export async function loadAaConfig(path: string): Promise<AaConfig> {
  return parseAaConfig(await loadConfigFile(path), path);
}

/**
 * The config used without `-c`: a KBS token config from `aa_kbc_params` (`cc_kbc::<url>`), as
 * upstream derives it from env `AA_KBC_PARAMS`.
 */
export function aaConfigFromKbcParams(params: string | undefined): AaConfig {
  const out = defaultAaConfig();
  if (params === undefined || params === "") return out;
  const parts = params.split("::");
  if (parts.length !== 2) {
    throw new ConfigError(
      "invalid",
      `Invalid AA_KBC_PARAMS \`${params}\`: expected <kbc>::<url>`,
    );
  }
  if (parts[0] === "cc_kbc") {
    out.tokenConfigs.kbs = {
      url: parts[1]!.replace(/\/+$/, ""),
      teeKeyAlgorithm: "ECDH-ES+A256KW-P256",
    };
  }
  return out;
}
