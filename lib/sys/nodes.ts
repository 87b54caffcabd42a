/**
 * File-node calls Deno has no (or only a symlink-following) API for: `mknod(2)` for devices and
 * FIFOs, `lchown(2)`, `chmod(2)`, and `utimensat(2)` with `AT_SYMLINK_NOFOLLOW` so timestamps can be
 * set on a symlink itself.
 *
 * @module
 */
import { check, cstr, lib } from "./_ffi.ts";

/** Kind of node {@link mknod} creates. */
export type NodeKind = "char" | "block" | "fifo";

const S_IFMT = { char: 0o020000, block: 0o060000, fifo: 0o010000 } as const;
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

/** `makedev(3)`: the kernel's 64-bit `dev_t` for a major/minor pair. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) |
    (mi & 0xffn);
}

/** Options of {@link mknod}. */
export interface MknodOptions {
  /** Permission bits (the process umask still applies, as with `mknod(2)`). */
  mode: number;
  /** Device numbers; ignored for FIFOs. */
  major?: number;
  minor?: number;
}

/**
 * Creates a character device, block device or FIFO at `path` (fails with `EEXIST` if anything
 * is there, without following a symlink). Devices need CAP_MKNOD.
 */
export function mknod(path: string, kind: NodeKind, options: MknodOptions): void {
  const dev = kind === "fifo" ? 0n : makedev(options.major ?? 0, options.minor ?? 0);
  const mode = S_IFMT[kind] | (options.mode & 0o7777);
  check(lib().mknod(cstr(path, "mknod"), mode, dev), "mknod", path);
}

/** Changes the owner of `path` itself (a symlink is not followed). */
export function lchown(path: string, uid: number, gid: number): void {
  check(lib().lchown(cstr(path, "lchown"), uid >>> 0, gid >>> 0), "lchown", path);
}

/**
 * `chmod(2)`, keeping setuid/setgid/sticky bits (`mode & 0o7777`). Follows a final symlink, like
 * the system call: callers must check the path is not one.
 */
export function chmod(path: string, mode: number): void {
  check(lib().chmod(cstr(path, "chmod"), mode & 0o7777), "chmod", path);
}

/** A point in time as whole seconds since the epoch plus nanoseconds. */
export interface Timespec {
  sec: number;
  nsec: number;
}

/** `Date` or milliseconds → {@link Timespec}. */
export function toTimespec(t: Date | number | Timespec): Timespec {
  if (typeof t === "object" && !(t instanceof Date)) return t;
  const ms = t instanceof Date ? t.getTime() : t;
  const sec = Math.floor(ms / 1000);
  return { sec, nsec: Math.round((ms - sec * 1000) * 1e6) };
}

/**
 * Sets access and modification times of `path` without following a final symlink
 * (`utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW)`).
 */
export function lutimes(
  path: string,
  atime: Date | number | Timespec,
  mtime: Date | number | Timespec,
): void {
  const times = new BigInt64Array(4);
  const a = toTimespec(atime);
  const m = toTimespec(mtime);
  times[0] = BigInt(a.sec);
  times[1] = BigInt(a.nsec);
  times[2] = BigInt(m.sec);
  times[3] = BigInt(m.nsec);
  const result = lib().utimensat(
    AT_FDCWD,
    cstr(path, "utimensat"),
    new Uint8Array(times.buffer),
    AT_SYMLINK_NOFOLLOW,
  );
  check(result, "utimensat", path);
}
