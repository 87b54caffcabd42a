/**
 * The shim's configuration: one TOML file with a `[shim]` table (runtime directory, socket
 * directory, force guest pull, default policy, log level, the local agent command for
 * `hypervisor.type = "none"`) and the `[hypervisor]` table of host/vm (`type` selects `qemu` or
 * `none`; the rest is parsed by `parseHypervisorConfig`). See host/config.example.toml.
 */
import { inConfig, loadConfigFile } from "@coco/lib/config";
import { obj, onlyKeys, optStr, strArray } from "@coco/lib/json/fields";
import { type LogLevel, parseLogLevel } from "@coco/lib/log";
import { type GuestForward, type HypervisorConfig, parseHypervisorConfig } from "../vm/mod.ts";

/** Which VM backend runs the pod. `none` is for development and tests only: not confidential. */
export type HypervisorType = "qemu" | "none";

/** Complete shim configuration. */
export interface ShimConfig {
  /** Per-sandbox state: VM run dirs, local agent dirs, init-data disks, pid records. */
  runtimeDir: string;
  /** Directory of shim sockets (containerd's own is /run/containerd/s). */
  socketDir: string;
  /** Every container's rootfs becomes an image_guest_pull storage; the host rootfs is ignored. */
  forceGuestPull: boolean;
  /** Rego file sent with SetPolicy when a pod has no policy annotation ("" = the agent's own). */
  defaultPolicy: string;
  logLevel: LogLevel;
  /** CreateContainer deadline (guest pulls happen inside it). */
  createContainerTimeoutMs: number;
  /** Deadline for other agent calls. */
  agentTimeoutMs: number;
  hypervisorType: HypervisorType;
  hypervisor: HypervisorConfig;
  /** `none` mode: the agent command (argv); the shim appends `--config <file> --init-mode never`. */
  localAgentCommand: string[];
  /** `none` mode: the OCI runtime the local agent drives. */
  localAgentRuntime: string;
  /** Loopback services the pod VM may reach (`guestfwd`; e.g. a development registry). */
  guestForwards: GuestForward[];
}

/** Defaults; the config file overrides them. */
export const DEFAULT_SHIM_CONFIG: Omit<ShimConfig, "hypervisor"> = {
  runtimeDir: "/run/coco-host",
  socketDir: "/run/containerd/s",
  forceGuestPull: false,
  defaultPolicy: "",
  logLevel: "info",
  createContainerTimeoutMs: 60_000,
  agentTimeoutMs: 60_000,
  hypervisorType: "qemu",
  localAgentCommand: ["coco-guest", "agent"],
  localAgentRuntime: "runc",
  guestForwards: [],
};

const SHIM_KEYS = [
  "runtime_dir",
  "socket_dir",
  "force_guest_pull",
  "default_policy",
  "log_level",
  "create_container_timeout",
  "agent_timeout",
  "local_agent_command",
  "local_agent_runtime",
  "guest_forwards",
];

function seconds(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0 || v > 86_400) {
    throw new TypeError(`shim.${name} must be a number of seconds in (0, 86400]`);
  }
  return Math.round(v * 1000);
}

function absPath(v: unknown, name: string): string {
  const p = optStr(v, `shim.${name}`) ?? "";
  if (!p.startsWith("/")) throw new TypeError(`shim.${name} must be an absolute path`);
  return p;
}

/** Parses the whole document (already decoded from TOML). */
export function parseShimConfig(raw: unknown): ShimConfig {
  const doc = obj(raw ?? {}, "config");
  onlyKeys(doc, ["shim", "hypervisor"], "config");
  const sh = obj(doc.shim ?? {}, "[shim]");
  onlyKeys(sh, SHIM_KEYS, "[shim]");
  const hvRaw = { ...obj(doc.hypervisor ?? {}, "[hypervisor]") };
  const type = hvRaw.type ?? "qemu";
  delete hvRaw.type;
  if (type !== "qemu" && type !== "none") {
    throw new TypeError(`hypervisor.type must be "qemu" or "none", not ${JSON.stringify(type)}`);
  }
  const c: ShimConfig = {
    ...DEFAULT_SHIM_CONFIG,
    hypervisorType: type,
    hypervisor: parseHypervisorConfig(hvRaw),
  };
  if (sh.runtime_dir !== undefined) c.runtimeDir = absPath(sh.runtime_dir, "runtime_dir");
  if (sh.socket_dir !== undefined) c.socketDir = absPath(sh.socket_dir, "socket_dir");
  if (sh.force_guest_pull !== undefined) {
    if (typeof sh.force_guest_pull !== "boolean") {
      throw new TypeError("shim.force_guest_pull must be true or false");
    }
    c.forceGuestPull = sh.force_guest_pull;
  }
  if (sh.default_policy !== undefined) {
    c.defaultPolicy = sh.default_policy === "" ? "" : absPath(sh.default_policy, "default_policy");
  }
  if (sh.log_level !== undefined) {
    const v = optStr(sh.log_level, "shim.log_level")!;
    if (!["debug", "info", "warn", "error"].includes(v)) {
      throw new TypeError(`shim.log_level must be debug, info, warn or error, not "${v}"`);
    }
    c.logLevel = parseLogLevel(v);
  }
  if (sh.create_container_timeout !== undefined) {
    c.createContainerTimeoutMs = seconds(sh.create_container_timeout, "create_container_timeout");
  }
  if (sh.agent_timeout !== undefined) c.agentTimeoutMs = seconds(sh.agent_timeout, "agent_timeout");
  if (sh.local_agent_command !== undefined) {
    c.localAgentCommand = strArray(sh.local_agent_command, "shim.local_agent_command");
    if (c.localAgentCommand.length === 0) {
      throw new TypeError("shim.local_agent_command must not be empty");
    }
  }
  if (sh.local_agent_runtime !== undefined) {
    c.localAgentRuntime = optStr(sh.local_agent_runtime, "shim.local_agent_runtime")!;
  }
  if (sh.guest_forwards !== undefined) c.guestForwards = forwards(sh.guest_forwards);
  return c;
}

function forwards(raw: unknown): GuestForward[] {
  if (!Array.isArray(raw)) throw new TypeError("shim.guest_forwards must be an array of tables");
  return raw.map((f, i) => {
    const o = obj(f, `shim.guest_forwards[${i}]`);
    onlyKeys(o, ["guest", "host_port"], `shim.guest_forwards[${i}]`);
    const m = optStr(o.guest, `shim.guest_forwards[${i}].guest`)?.match(/^([\d.]+):(\d+)$/);
    const port = o.host_port;
    if (!m || typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TypeError(
        `shim.guest_forwards[${i}] must be { guest = "10.0.2.X:PORT", host_port = PORT }`,
      );
    }
    return { guestAddr: m[1]!, guestPort: Number(m[2]), hostPort: port };
  });
}

/** Environment variable naming the config file (set by the installed launcher). */
export const CONFIG_ENV = "COCO_SHIM_CONFIG";

/** Loads `file` (TOML); errors name the file and the key. */
export async function loadShimConfig(file: string): Promise<ShimConfig> {
  const raw = await loadConfigFile(file);
  return inConfig(file, () => parseShimConfig(raw));
}

/** The configuration for this process: `$COCO_SHIM_CONFIG` when set, else the defaults. */
export async function shimConfigFromEnv(): Promise<ShimConfig> {
  const file = Deno.env.get(CONFIG_ENV);
  return file ? await loadShimConfig(file) : parseShimConfig({});
}
