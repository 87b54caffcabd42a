/**
 * Agent configuration (spec/runtime.md §3.4): a TOML file (`--config`, or
 * `agent.config_file=` on the kernel command line), else individual `agent.*` kernel
 * parameters, then environment overrides (`KATA_AGENT_SERVER_ADDR`, `KATA_AGENT_LOG_LEVEL`,
 * `KATA_AGENT_POLICY_FILE`). Resolved once into a complete {@linkcode AgentConfig}.
 */
import { inConfig, loadConfigFile } from "@coco/lib/config";
import { obj, optStr } from "@coco/lib/json/fields";
import { type LogLevel, parseLogLevel } from "@coco/lib/log";
import { agentError } from "./errors.ts";

/** Complete agent configuration. */
export interface AgentConfig {
  /** `vsock://-1:1024` (default), `unix:///path`, or `serial://<port name or /dev path>`. */
  serverAddr: string;
  logLevel: LogLevel;
  /** Policy file; "" = the shipped default policy. */
  policyFile: string;
  /** Container base directory (`/run/kata-containers`). */
  containerBase: string;
  /** OCI runtime binary (`runc`, `crun` or a path). */
  runtime: string;
  /** CDH socket for `kbs:///` resources of image pulls (policy, keys, auth); "" = none. */
  cdhSocket: string;
  /** cdh.toml whose `[image]` section configures pulls when init-data has none ("" = defaults). */
  cdhConfig: string;
  /** TEE the in-process AA attests with ("" = detect; `sample` only when named). */
  tee: string;
  /** Directory of the built-in pause bundle. */
  pauseBundle: string;
  /** Which guest components to start in-process: none | attestation-agent | confidential-data-hub | api-server-rest. */
  guestComponentsProcs: "none" | "attestation-agent" | "confidential-data-hub" | "api-server-rest";
  /** guest.toml for the in-process AA/CDH roles ("" = their defaults). */
  guestConfig: string;
  /** APIs the in-process api-server-rest exposes: resource (default) | attestation | all. */
  guestComponentsRestApi: "resource" | "attestation" | "all";
}

/** Defaults, as upstream where upstream has one. */
export const DEFAULT_AGENT_CONFIG: AgentConfig = {
  serverAddr: "vsock://-1:1024",
  logLevel: "info",
  policyFile: "",
  containerBase: "/run/kata-containers",
  runtime: "runc",
  cdhSocket: "unix:///run/confidential-containers/cdh.sock",
  cdhConfig: "",
  tee: "",
  pauseBundle: "/pause_bundle",
  guestComponentsProcs: "api-server-rest",
  guestConfig: "",
  guestComponentsRestApi: "resource",
};

const PROCS = ["none", "attestation-agent", "confidential-data-hub", "api-server-rest"] as const;

const REST_APIS = ["resource", "attestation", "all"] as const;

function restApi(v: string, where: string): AgentConfig["guestComponentsRestApi"] {
  const hit = REST_APIS.find((p) => p === v);
  if (!hit) throw agentError("invalid-argument", `${where}: "${v}" is not one of ${REST_APIS}`);
  return hit;
}

function procs(v: string, where: string): AgentConfig["guestComponentsProcs"] {
  const hit = PROCS.find((p) => p === v);
  if (!hit) throw agentError("invalid-argument", `${where}: "${v}" is not one of ${PROCS}`);
  return hit;
}

/** Applies TOML-style keys (`server_addr`, `log_level`, …) over `base`. */
export function applyConfigKeys(base: AgentConfig, raw: unknown, where: string): AgentConfig {
  const o = obj(raw, where);
  const known = [
    "server_addr",
    "log_level",
    "policy_file",
    "container_base",
    "runtime",
    "cdh_socket",
    "cdh_config",
    "tee",
    "pause_bundle",
    "guest_components_procs",
    "guest_config",
    "guest_components_rest_api",
  ];
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) throw agentError("invalid-argument", `${where}: unknown key "${k}"`);
  }
  const s = (k: string) => optStr(o[k], `${where}: ${k}`);
  const gp = s("guest_components_procs");
  const ra = s("guest_components_rest_api");
  return {
    serverAddr: s("server_addr") ?? base.serverAddr,
    logLevel: s("log_level") !== undefined ? parseLogLevel(s("log_level")) : base.logLevel,
    policyFile: s("policy_file") ?? base.policyFile,
    containerBase: s("container_base") ?? base.containerBase,
    runtime: s("runtime") ?? base.runtime,
    cdhSocket: s("cdh_socket") ?? base.cdhSocket,
    cdhConfig: s("cdh_config") ?? base.cdhConfig,
    tee: s("tee") ?? base.tee,
    pauseBundle: s("pause_bundle") ?? base.pauseBundle,
    guestComponentsProcs: gp !== undefined ? procs(gp, where) : base.guestComponentsProcs,
    guestConfig: s("guest_config") ?? base.guestConfig,
    guestComponentsRestApi: ra !== undefined ? restApi(ra, where) : base.guestComponentsRestApi,
  };
}

/** `agent.*` parameters of a kernel command line, without the prefix (flags map to "true"). */
export function parseKernelParams(cmdline: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const word of cmdline.trim().split(/\s+/)) {
    if (!word.startsWith("agent.")) continue;
    const eq = word.indexOf("=");
    const key = word.slice("agent.".length, eq < 0 ? undefined : eq);
    out.set(key, eq < 0 ? "true" : word.slice(eq + 1));
  }
  return out;
}

const PARAM_KEYS: Record<string, string> = {
  server_addr: "server_addr",
  log: "log_level",
  policy_file: "policy_file",
  container_base: "container_base",
  runtime: "runtime",
  guest_components_procs: "guest_components_procs",
  guest_components_rest_api: "guest_components_rest_api",
  tee: "tee",
};

/**
 * `agent.channel=serial:<port name>` / `vsock:<port>` as the VM launcher (host/vm) writes it, as
 * a `server_addr`.
 */
export function channelToServerAddr(channel: string): string {
  const m = channel.match(/^(serial|vsock):(.+)$/);
  if (!m) {
    throw agentError(
      "invalid-argument",
      `agent.channel "${channel}" is not serial:NAME or vsock:PORT`,
    );
  }
  if (m[1] === "serial") return `serial://${m[2]}`;
  if (!/^\d{1,10}$/.test(m[2]!)) {
    throw agentError("invalid-argument", `agent.channel port "${m[2]}" is not a number`);
  }
  return `vsock://-1:${m[2]}`;
}

/** Where configuration comes from; every part is optional (tests inject them). */
export interface ConfigSources {
  /** `--config` file. */
  file?: string;
  /** Kernel command line text (`/proc/cmdline`). */
  cmdline?: string;
  env?: (name: string) => string | undefined;
}

/** Resolves the configuration from its sources in upstream priority order. */
export async function resolveAgentConfig(src: ConfigSources): Promise<AgentConfig> {
  const params = parseKernelParams(src.cmdline ?? "");
  const file = src.file ?? params.get("config_file");
  let config = DEFAULT_AGENT_CONFIG;
  if (file) {
    const raw = await loadConfigFile(file);
    config = inConfig(file, () => applyConfigKeys(config, raw, file));
  } else {
    const raw: Record<string, string> = {};
    for (const [k, v] of params) if (PARAM_KEYS[k]) raw[PARAM_KEYS[k]] = v;
    const channel = params.get("channel");
    if (channel !== undefined && raw.server_addr === undefined) {
      raw.server_addr = channelToServerAddr(channel);
    }
    config = applyConfigKeys(config, raw, "kernel command line");
  }
  const env = src.env ?? (() => undefined);
  const addr = env("KATA_AGENT_SERVER_ADDR");
  const level = env("KATA_AGENT_LOG_LEVEL");
  const policy = env("KATA_AGENT_POLICY_FILE");
  return {
    ...config,
    ...(addr ? { serverAddr: addr } : {}),
    ...(level ? { logLevel: parseLogLevel(level) } : {}),
    ...(policy ? { policyFile: policy } : {}),
  };
}
