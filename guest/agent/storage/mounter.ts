/**
 * The default {@linkcode Mounter}: `mount(2)` / `umount2(2)` through `@coco/lib/sys`. Mount
 * options in mount(8) form (`ro`, `nosuid`, `bind`, `mode=1777`, …) are split into `MS_*` flags
 * and the filesystem's data string by {@linkcode splitMountOptions}.
 */
import { mount, MountFlags, SysError, umount, UmountFlags } from "@coco/lib/sys";
import { agentError } from "../errors.ts";
import type { Mounter } from "./types.ts";

const FLAG_OPTIONS: Record<string, number> = {
  ro: MountFlags.RDONLY,
  nosuid: MountFlags.NOSUID,
  nodev: MountFlags.NODEV,
  noexec: MountFlags.NOEXEC,
  sync: MountFlags.SYNCHRONOUS,
  remount: MountFlags.REMOUNT,
  noatime: MountFlags.NOATIME,
  nodiratime: MountFlags.NODIRATIME,
  bind: MountFlags.BIND,
  rbind: MountFlags.BIND | MountFlags.REC,
  relatime: MountFlags.RELATIME,
  strictatime: MountFlags.STRICTATIME,
  private: MountFlags.PRIVATE,
  rprivate: MountFlags.PRIVATE | MountFlags.REC,
  slave: MountFlags.SLAVE,
  rslave: MountFlags.SLAVE | MountFlags.REC,
  shared: MountFlags.SHARED,
  rshared: MountFlags.SHARED | MountFlags.REC,
};
/** Options that only restate the default (no flag, not passed to the filesystem). */
const DEFAULT_OPTIONS = new Set(["rw", "suid", "dev", "exec", "async", "atime", "diratime"]);

/** mount(8)-style options as `MS_*` flags plus the filesystem data string. */
export function splitMountOptions(options: readonly string[]): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    if (o.includes("\0")) throw agentError("invalid-argument", `Mount option holds NUL`);
    const f = FLAG_OPTIONS[o];
    if (f !== undefined) flags |= f;
    else if (!DEFAULT_OPTIONS.has(o) && o !== "") data.push(o);
  }
  return { flags, data: data.join(",") };
}

function wrap(err: unknown, what: string): never {
  if (err instanceof SysError) throw agentError("internal", `Cannot ${what}: ${err.message}`, err);
  throw err;
}

/**
 * Mounts with `mount(2)`. A bind with `ro` is done as the kernel needs it: bind first, then a
 * read-only remount of the bind.
 */
export const syscallMounter: Mounter = {
  mount(source, target, fstype, options) {
    const { flags, data } = splitMountOptions(options);
    try {
      mount({ source, target, fstype, flags: flags & ~MountFlags.RDONLY | bindRo(flags), data });
      if (flags & MountFlags.BIND && flags & MountFlags.RDONLY) {
        mount({
          source: "",
          target,
          fstype: "",
          flags: MountFlags.BIND | MountFlags.REMOUNT | MountFlags.RDONLY,
        });
      }
    } catch (err) {
      wrap(err, `mount ${source} on ${target}`);
    }
    return Promise.resolve();
  },
  umount(target) {
    try {
      umount(target, UmountFlags.DETACH);
    } catch (err) {
      wrap(err, `unmount ${target}`);
    }
    return Promise.resolve();
  },
};

/** Keeps MS_RDONLY on non-bind mounts (binds get it through the remount). */
function bindRo(flags: number): number {
  return flags & MountFlags.BIND ? 0 : flags & MountFlags.RDONLY;
}
