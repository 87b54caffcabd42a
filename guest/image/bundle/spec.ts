/**
 * The OCI runtime `config.json` for a container of the image: process settings from the image
 * config (args = Entrypoint ++ Cmd, Env with a default PATH, WorkingDir, User resolved to ids)
 * over containerd's default Linux spec (mounts, namespaces, capabilities, masked paths), plus the
 * image's volumes as tmpfs mounts and its labels as annotations, as image-rs does.
 *
 * @module
 */
import type { ImageConfig } from "@coco/lib/oci";
import { ImageError } from "../errors.ts";
import type { ProcessUser } from "./user.ts";

/** The subset of the OCI runtime spec we generate (wire names). */
export interface RuntimeSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: ProcessUser;
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<"bounding" | "effective" | "permitted", string[]>;
    rlimits: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  mounts: { destination: string; type: string; source: string; options: string[] }[];
  annotations: Record<string, string>;
  linux: {
    resources: { devices: { allow: boolean; access: string }[] };
    namespaces: { type: string }[];
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

/** PATH added when the image sets none (containerd's default). */
export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const CAPS = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

const MOUNTS: RuntimeSpec["mounts"] = [
  { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
  {
    destination: "/dev",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
  },
  {
    destination: "/dev/pts",
    type: "devpts",
    source: "devpts",
    options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
  },
  {
    destination: "/dev/shm",
    type: "tmpfs",
    source: "shm",
    options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
  },
  {
    destination: "/dev/mqueue",
    type: "mqueue",
    source: "mqueue",
    options: ["nosuid", "noexec", "nodev"],
  },
  {
    destination: "/sys",
    type: "sysfs",
    source: "sysfs",
    options: ["nosuid", "noexec", "nodev", "ro"],
  },
  {
    destination: "/run",
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
  },
];

const MASKED = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/sys/firmware",
  "/proc/scsi",
];
const READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

function annotations(cfg: ImageConfig): Record<string, string> {
  const out: Record<string, string> = { ...cfg.config.Labels };
  const put = (k: string, v: string | undefined) => {
    const key = `org.opencontainers.image.${k}`;
    if (v !== undefined && out[key] === undefined) out[key] = v;
  };
  put("os", cfg.os);
  put("architecture", cfg.architecture);
  put("variant", cfg.variant);
  put("os.version", cfg["os.version"]);
  put("os.features", cfg["os.features"]?.join(","));
  put("author", cfg.author);
  put("created", cfg.created);
  put("stopSignal", cfg.config.StopSignal);
  put("exposedPorts", cfg.config.ExposedPorts?.join(","));
  return out;
}

/** Builds the runtime spec; throws `bundle_failed` when the image cannot run as given. */
export function runtimeSpec(cfg: ImageConfig, user: ProcessUser): RuntimeSpec {
  if (cfg.os !== "linux") {
    throw new ImageError("bundle_failed", `Image is for os "${cfg.os}"; only linux images can run`);
  }
  const args = [...(cfg.config.Entrypoint ?? []), ...(cfg.config.Cmd ?? [])];
  if (args.length === 0) {
    throw new ImageError(
      "bundle_failed",
      "Image config has neither Entrypoint nor Cmd: nothing to run",
    );
  }
  const env = [...(cfg.config.Env ?? [])];
  if (!env.some((e) => e.startsWith("PATH="))) env.unshift(DEFAULT_PATH);
  const cwd = cfg.config.WorkingDir || "/";
  if (!cwd.startsWith("/")) {
    throw new ImageError("bundle_failed", `Image WorkingDir "${cwd}" is not an absolute path`);
  }
  const volumes = (cfg.config.Volumes ?? []).map((destination) => ({
    destination,
    type: "tmpfs",
    source: "tmpfs",
    options: ["nosuid", "noexec", "nodev", "relatime", "rw"],
  }));
  return {
    ociVersion: "1.1.0",
    process: {
      terminal: false,
      user,
      args,
      env,
      cwd,
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: false },
    mounts: [...MOUNTS.map((m) => ({ ...m, options: [...m.options] })), ...volumes],
    annotations: annotations(cfg),
    linux: {
      resources: { devices: [{ allow: false, access: "rwm" }] },
      namespaces: ["pid", "ipc", "uts", "mount", "network"].map((type) => ({ type })),
      maskedPaths: [...MASKED],
      readonlyPaths: [...READONLY],
    },
  };
}
