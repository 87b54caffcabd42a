/**
 * `mount(2)` and `umount2(2)` through libc, with the flag constants the guest uses (overlay
 * rootfs, tmpfs, bind and read-only remounts).
 *
 * @module
 */
import { check, cstr, lib } from "./_ffi.ts";

/** `mount(2)` flags (`MS_*`). Combine with `|`. */
export const MountFlags = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
} as const;

/** `umount2(2)` flags. */
export const UmountFlags = {
  FORCE: 0x1,
  DETACH: 0x2,
  EXPIRE: 0x4,
  NOFOLLOW: 0x8,
} as const;

/** Arguments of {@link mount}; `source` and `fstype` may be empty for remounts and binds. */
export interface MountArgs {
  source: string;
  target: string;
  fstype: string;
  /** `MS_*` flags from {@link MountFlags}. */
  flags?: number;
  /** Filesystem options, e.g. `"lowerdir=/a:/b,upperdir=/u,workdir=/w"`. */
  data?: string;
}

/**
 * Mounts `source` on `target`; throws a {@link SysError} naming the target on failure.
 *
 * @example
 * ```ts
 * mount({ source: "tmpfs", target: "/mnt/x", fstype: "tmpfs", data: "size=16m" });
 * umount("/mnt/x");
 * ```
 */
export function mount(args: MountArgs): void {
  const data = args.data ? cstr(args.data, "mount") : null;
  const result = lib().mount(
    cstr(args.source, "mount"),
    cstr(args.target, "mount"),
    cstr(args.fstype, "mount"),
    BigInt(args.flags ?? 0),
    data,
  );
  check(result, "mount", args.target);
}

/** Unmounts `target` with `umount2(2)` flags from {@link UmountFlags}. */
export function umount(target: string, flags = 0): void {
  check(lib().umount2(cstr(target, "umount2"), flags), "umount2", target);
}
