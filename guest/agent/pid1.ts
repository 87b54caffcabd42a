/**
 * PID-1 duties (spec/runtime.md §3.5), only when the agent is init (pid 1) or told so:
 * mount /proc, /sys, /dev, /dev/pts, /dev/shm, /run and the cgroup hierarchy; load kernel
 * modules; reap orphans; read and apply init-data; start the AA and CDH roles in this process;
 * and power off after DestroySandbox. The decisions are pure functions, unit-tested; the
 * effects go through a {@linkcode Mounter} and the FFI helpers.
 */
import { join } from "node:path";
import type { Logger } from "@coco/lib/log";
import { reapOrphans, waitingPids } from "./_libc.ts";
import type { AgentConfig } from "./config.ts";
import { applyInitData, readInitDataFromDevices, sampleBinding } from "./initdata.ts";
import { commandMounter, type Mounter } from "./storage/mod.ts";

/** `--init-mode`: `auto` (PID-1 duties iff pid 1), `always`, `never`. */
export type InitMode = "auto" | "always" | "never";

/** Whether to run PID-1 duties. */
export function shouldRunAsInit(opts: { pid: number; mode: InitMode }): boolean {
  return opts.mode === "always" || (opts.mode === "auto" && opts.pid === 1);
}

/** One mount of the init sequence. `optional` failures are tolerated (devtmpfs, as upstream). */
export interface MountStep {
  source: string;
  target: string;
  fstype: string;
  options: string[];
  optional?: boolean;
}

const V1_CONTROLLERS = [
  "cpu,cpuacct",
  "cpuset",
  "memory",
  "devices",
  "freezer",
  "pids",
  "blkio",
  "hugetlb",
  "perf_event",
  "net_cls,net_prio",
];

/** True when the kernel command line selects the unified (v2) cgroup hierarchy. */
export function wantsCgroupV2(cmdline: string): boolean {
  const words = cmdline.split(/\s+/);
  return words.includes("cgroup_no_v1=all") ||
    words.includes("systemd.unified_cgroup_hierarchy=1");
}

/** The mounts PID 1 performs, in order. */
export function initMountPlan(cmdline: string): MountStep[] {
  const base: MountStep[] = [
    { source: "proc", target: "/proc", fstype: "proc", options: ["nosuid", "nodev", "noexec"] },
    { source: "sysfs", target: "/sys", fstype: "sysfs", options: ["nosuid", "nodev", "noexec"] },
    { source: "dev", target: "/dev", fstype: "devtmpfs", options: ["nosuid"], optional: true },
    { source: "tmpfs", target: "/dev/shm", fstype: "tmpfs", options: ["nosuid", "nodev"] },
    { source: "devpts", target: "/dev/pts", fstype: "devpts", options: ["nosuid", "noexec"] },
    { source: "tmpfs", target: "/run", fstype: "tmpfs", options: ["nosuid", "nodev"] },
  ];
  if (wantsCgroupV2(cmdline)) {
    return [...base, {
      source: "cgroup2",
      target: "/sys/fs/cgroup",
      fstype: "cgroup2",
      options: ["nosuid", "nodev", "noexec"],
    }];
  }
  return [
    ...base,
    { source: "tmpfs", target: "/sys/fs/cgroup", fstype: "tmpfs", options: ["nosuid", "nodev"] },
    ...V1_CONTROLLERS.map((c) => ({
      source: "cgroup",
      target: join("/sys/fs/cgroup", c),
      fstype: "cgroup",
      options: ["nosuid", "nodev", "noexec", c],
      optional: true,
    })),
  ];
}

/** Kernel modules the guest needs for the agent channel, volumes and secure storage. */
export const INIT_MODULES = [
  "virtio_console",
  "vmw_vsock_virtio_transport",
  "virtio_blk",
  "virtio_net",
  "overlay",
  "dm_crypt",
  "dm_verity",
];

/**
 * Whether the orphan reaper must leave zombie `pid` alone: a {@linkcode waitPid} waits for it,
 * or it was first seen in this sweep (it may be a child Deno spawned, which Deno reaps within
 * milliseconds; a zombie still there one sweep later is an orphan). Records `pid` in `next`.
 */
export function orphanOwned(pid: number, seen: ReadonlySet<number>, next: Set<number>): boolean {
  if (waitingPids.has(pid)) return true;
  if (seen.has(pid)) return false;
  next.add(pid);
  return true;
}

/** Block devices scanned for init-data. */
export async function initDataCandidates(devDir = "/dev"): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(devDir)) {
      if (/^(vd|sd)[a-z]+$/.test(e.name)) out.push(join(devDir, e.name));
    }
  } catch {
    // no /dev
  }
  return out.sort();
}

/** What init set up for the agent. */
export interface InitResult {
  /** Policy from init-data, if it had one. */
  policy?: string;
  /** sync + reboot(RB_POWER_OFF). */
  powerOff(): Promise<void>;
}

/** Options of {@linkcode runAsInit}. */
export interface RunAsInitOptions {
  config: AgentConfig;
  logger: Logger;
  cmdline: string;
  mounter?: Mounter;
}

async function tryModprobe(name: string, logger: Logger): Promise<void> {
  const out = await new Deno.Command("modprobe", { args: [name], stderr: "piped" }).output()
    .catch(() => undefined);
  if (!out?.success) logger.warn("modprobe failed", { module: name });
}

/**
 * Runs the PID-1 sequence. Orphans are reaped every second with a non-blocking sweep that
 * leaves alone processes someone waits for (see `_libc.ts`).
 */
export async function runAsInit(opts: RunAsInitOptions): Promise<InitResult> {
  const { logger } = opts;
  const mounter = opts.mounter ?? commandMounter;
  for (const m of initMountPlan(opts.cmdline)) {
    await Deno.mkdir(m.target, { recursive: true }).catch(() => {});
    try {
      await mounter.mount(m.source, m.target, m.fstype, m.options);
    } catch (err) {
      if (!m.optional) throw err;
      logger.warn("optional mount failed", { target: m.target, error: err });
    }
  }
  Deno.env.set("PATH", "/bin:/sbin:/usr/bin:/usr/sbin");
  for (const mod of INIT_MODULES) await tryModprobe(mod, logger);
  let seen = new Set<number>();
  const timer = setInterval(() => {
    const next = new Set<number>();
    const reaped = reapOrphans((pid) => orphanOwned(pid, seen, next));
    seen = next;
    if (reaped.length) logger.debug("reaped orphans", { pids: reaped });
  }, 1000);
  Deno.unrefTimer(timer);
  const result: InitResult = {
    powerOff: async () => {
      clearInterval(timer);
      await new Deno.Command("sync").output().catch(() => {});
      await new Deno.Command("poweroff", { args: ["-f"] }).output().catch(() => {});
    },
  };
  const toml = await readInitDataFromDevices(await initDataCandidates());
  if (toml !== undefined) {
    const applied = await applyInitData(
      toml,
      sampleBinding,
      "/run/confidential-containers/initdata",
    );
    logger.info("init-data applied", { dir: applied.dir, policy: applied.policy !== undefined });
    if (applied.policy !== undefined) result.policy = applied.policy;
  }
  return result;
}
