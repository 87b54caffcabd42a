/**
 * `guest.toml`, the all-in-one config: top-level `tee`, `[aa]` (aa.toml keys + `socket`), `[cdh]`
 * (cdh.toml keys; its `[aa] aa_socket` defaults to the AA's socket) and
 * `[api_server_rest] bind, features`.
 */
import { inConfig, loadConfigFile } from "@coco/lib/config";
import { obj, optStr } from "@coco/lib/json/fields";
import { type Features, parseBind, parseFeatures } from "../api_server_rest/features.ts";
import { DEFAULT_ASR_BIND } from "../api_server_rest/server.ts";
import { type AaConfig, DEFAULT_AA_SOCKET, parseAaConfig } from "../attestation_agent/config.ts";
import { type CdhConfig, parseCdhConfig } from "../cdh/config.ts";

/** A complete all-in-one configuration. */
export interface GuestConfig {
  tee?: string;
  aa: AaConfig & { socket: string };
  cdh: CdhConfig;
  apiServerRest: { bind: string; features: Features };
}

/** Parses a decoded guest.toml. */
export function parseGuestConfig(input: unknown, file: string): GuestConfig {
  const root = inConfig(file, () => obj(input ?? {}, "guest config"));
  const aaRaw = inConfig(file, () => (root.aa === undefined ? {} : obj(root.aa, "aa")));
  const socket = inConfig(file, () => optStr(aaRaw.socket, "aa.socket")) ?? DEFAULT_AA_SOCKET;
  const aa = { ...parseAaConfig(aaRaw, `${file} [aa]`), socket };
  const cdh = parseCdhConfig(root.cdh ?? {}, `${file} [cdh]`, { aaSocket: socket });
  return inConfig(file, () => {
    const asr = root.api_server_rest === undefined
      ? {}
      : obj(root.api_server_rest, "api_server_rest");
    const bind = optStr(asr.bind, "api_server_rest.bind") ?? DEFAULT_ASR_BIND;
    parseBind(bind);
    const featureText = optStr(asr.features, "api_server_rest.features") ?? "all";
    const tee = optStr(root.tee, "tee");
    return {
      ...(tee !== undefined ? { tee } : {}),
      aa,
      cdh,
      apiServerRest: { bind, features: parseFeatures(featureText) },
    };
  });
}

/** Reads and parses a guest.toml file. */
export async function loadGuestConfig(path: string): Promise<GuestConfig> {
  return parseGuestConfig(await loadConfigFile(path), path);
}
