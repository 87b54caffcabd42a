/**
 * PID-1 duties (spec/runtime.md §3.5), only when the agent is init (pid 1) or told so: mount
 * /proc, /sys, /dev, /dev/pts, /dev/shm, /run and the cgroup hierarchy — skipping what the
 * initramfs `/init` already mounted —, load missing kernel modules, reap orphans, and power off
 * with `reboot(RB_POWER_OFF)` after DestroySandbox. Init-data and the AA/CDH roles are in
 * `guest_components.ts`. The decisions are pure functions, unit-tested; the effects go through
 * a {@linkcode Mounter} and `@coco/lib/sys`.
 */
import { join } from "node:path";
import type { Logger } from "@coco/lib/log";
import { reapOrphans, reboot, RebootCommand, sync, waitingPids } from "@coco/lib/sys";
import { type Mounter, syscallMounter } from "./storage/mod.ts";

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

/** Mount points listed in a `/proc/self/mountinfo` text (field 5, octal escapes decoded). */
export function mountPoints(mountinfo: string): Set<string> {
  const out = new Set<string>();
  for (const line of mountinfo.split("\n")) {
    const target = line.split(" ")[4];
    if (target) {
      out.add(
        target.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
      );
    }
  }
  return out;
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
 * Whether the orphan reaper must leave zombie `pid` alone: a `waitPid` waits for it, or it was
 * first seen in this sweep (it may be a child Deno spawned, which Deno reaps within
 * milliseconds; a zombie still there one sweep later is an orphan). Records `pid` in `next`.
 */
export function orphanOwned(pid: number, seen: ReadonlySet<number>, next: Set<number>): boolean {
  if (waitingPids.has(pid)) return true;
  if (seen.has(pid)) return false;
  next.add(pid);
  return true;
}

/** Loads kernel module `name` with `params` unless it is loaded (or built in) already. */
export async function loadModule(name: string, params: readonly string[] = []): Promise<void> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error(`bad module name "${name}"`);
  for (const p of params) {
    if (!/^[A-Za-z0-9_.-]+(=[^\s]*)?$/.test(p)) throw new Error(`bad module parameter "${p}"`);
  }
  const sysName = name.replaceAll("-", "_");
  if (await Deno.stat(`/sys/module/${sysName}`).then(() => true, () => false)) return;
  const out = await new Deno.Command("modprobe", { args: [name, ...params], stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`modprobe ${name}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** What init set up for the agent. */
export interface InitSystem {
  /** Stops the reaper, syncs and powers the VM off (`reboot(RB_POWER_OFF)`). */
  powerOff(): never;
}

/** Options of {@linkcode runAsInit}. */
export interface RunAsInitOptions {
  logger: Logger;
  cmdline: string;
  mounter?: Mounter;
}

/** Runs the PID-1 sequence; orphans are reaped every second (see `@coco/lib/sys` reapOrphans). */
export async function runAsInit(opts: RunAsInitOptions): Promise<InitSystem> {
  const { logger } = opts;
  const mounter = opts.mounter ?? syscallMounter;
  for (const m of initMountPlan(opts.cmdline)) {
    const mounted = mountPoints(await Deno.readTextFile("/proc/self/mountinfo").catch(() => ""));
    if (mounted.has(m.target)) continue;
    await Deno.mkdir(m.target, { recursive: true }).catch(() => {});
    try {
      await mounter.mount(m.source, m.target, m.fstype, m.options);
    } catch (err) {
      if (!m.optional) throw err;
      logger.warn("optional mount failed", { target: m.target, error: err });
    }
  }
  Deno.env.set("PATH", "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  for (const mod of INIT_MODULES) {
    await loadModule(mod).catch((err) => logger.debug("module not loaded", { error: err }));
  }
  let seen = new Set<number>();
  const timer = setInterval(() => {
    const next = new Set<number>();
    const reaped = reapOrphans((pid) => orphanOwned(pid, seen, next));
    seen = next;
    if (reaped.length) logger.debug("reaped orphans", { pids: reaped });
  }, 1000);
  Deno.unrefTimer(timer);
  return {
    powerOff() {
      clearInterval(timer);
      sync();
      reboot(RebootCommand.POWER_OFF);
      Deno.exit(0); // not reached: reboot(2) does not return on success
    },
  };
}
