/**
 * Calls relative to a directory file descriptor (`openat(2)`, `mkdirat(2)`, `symlinkat(2)`,
 * `linkat(2)`, `mknodat(2)`, `unlinkat(2)`, `fchownat(2)`, `utimensat(2)`, `statx(2)`) and on an
 * open fd (`fchown`, `fchmod`, `futimens`, `fsetxattr`, `write`, `close`), for hot paths such as
 * layer unpacking: each call resolves one name instead of a whole path, and with `O_NOFOLLOW` a
 * walk one component at a time never goes through a symlink.
 *
 * Names are single path components or relative paths, as `string` or as NUL-terminated bytes
 * from {@link cname} (encode once, use in several calls). The `try*` calls return `-errno`
 * instead of throwing, so expected failures (`EEXIST`, `ENOENT`, `ELOOP`) cost no exception;
 * the others throw a {@link SysError}. All calls are synchronous.
 *
 * @module
 */
import { check, cstr, errno, fail, lib } from "./_ffi.ts";
import { ERRNO, errnoName, SysError } from "./errors.ts";
import { makedev, type Timespec } from "./nodes.ts";
import type { FileKind } from "./stat.ts";

/** `open(2)` flags for {@link tryOpenAt}; the values differ between x86_64 and aarch64. */
export const OFlags = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  CREAT: 0o100,
  EXCL: 0o200,
  NOCTTY: 0o400,
  TRUNC: 0o1000,
  DIRECTORY: Deno.build.arch === "aarch64" ? 0o40000 : 0o200000,
  NOFOLLOW: Deno.build.arch === "aarch64" ? 0o100000 : 0o400000,
  CLOEXEC: 0o2000000,
  /** An fd that only names a node (usable as a `dirFd`); needs no read permission. */
  PATH: 0o10000000,
} as const;

/** `AT_*` flags. */
export const AtFlags = {
  /** The directory fd meaning "the current directory". */
  FDCWD: -100,
  SYMLINK_NOFOLLOW: 0x100,
  /** {@link tryUnlinkAt}: remove an empty directory instead of a file. */
  REMOVEDIR: 0x200,
} as const;

/** A name argument: a string, or bytes already NUL-terminated by {@link cname}. */
export type Name = string | Uint8Array<ArrayBuffer>;

/**
 * `s` as NUL-terminated bytes, with a fast path for ASCII. A string holding NUL is refused
 * (`EINVAL_ARG`), as everywhere in lib/sys. With `scratch`, an ASCII name that fits is written
 * there (no allocation; the buffer is returned, valid until its next use): C reads up to the NUL.
 */
export function cname(s: string, scratch?: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const n = s.length;
  const out = scratch && scratch.length > n ? scratch : new Uint8Array(n + 1);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c > 0x7f) return cstr(s, "cname");
    out[i] = c;
  }
  out[n] = 0;
  return out;
}

const bytes = (name: Name) => typeof name === "string" ? cname(name) : name;
const text = (name: Name) =>
  typeof name === "string" ? name : new TextDecoder().decode(name.subarray(0, name.length - 1));
/** Result of a call: the value, or `-errno` when it failed. */
const result = (r: number) => r < 0 ? -errno() : r;

/**
 * `openat(dirFd, name, flags | O_CLOEXEC, mode)`: the new fd, or `-errno`. With
 * `OFlags.NOFOLLOW` a final symlink fails (`ELOOP`, or `ENOTDIR` with `OFlags.DIRECTORY`).
 */
export function tryOpenAt(dirFd: number, name: Name, flags: number, mode = 0): number {
  return result(lib().openat(dirFd, bytes(name), flags | OFlags.CLOEXEC, mode));
}

/** `mkdirat(2)`: 0, or `-errno` (`-EEXIST` when anything is there). */
export function tryMkdirAt(dirFd: number, name: Name, mode: number): number {
  return result(lib().mkdirat(dirFd, bytes(name), mode));
}

/** `symlinkat(2)`: creates `name` in `dirFd` pointing at `target` (stored verbatim). */
export function trySymlinkAt(target: string, dirFd: number, name: Name): number {
  return result(lib().symlinkat(cstr(target, "symlinkat"), dirFd, bytes(name)));
}

/** `linkat(2)` without `AT_SYMLINK_FOLLOW`: a symlink is linked itself. 0 or `-errno`. */
export function tryLinkAt(
  oldDirFd: number,
  oldName: Name,
  newDirFd: number,
  newName: Name,
): number {
  return result(lib().linkat(oldDirFd, bytes(oldName), newDirFd, bytes(newName), 0));
}

/** `mknodat(2)` for a char or block device (`major`/`minor`) or a FIFO. 0 or `-errno`. */
export function tryMknodAt(
  dirFd: number,
  name: Name,
  kind: "char" | "block" | "fifo",
  mode: number,
  major = 0,
  minor = 0,
): number {
  const type = kind === "char" ? 0o020000 : kind === "block" ? 0o060000 : 0o010000;
  const dev = kind === "fifo" ? 0n : makedev(major, minor);
  return result(lib().mknodat(dirFd, bytes(name), type | (mode & 0o7777), dev));
}

/** `unlinkat(2)`; `AtFlags.REMOVEDIR` removes an empty directory. 0 or `-errno`. */
export function tryUnlinkAt(dirFd: number, name: Name, flags = 0): number {
  return result(lib().unlinkat(dirFd, bytes(name), flags));
}

const KINDS: Record<number, FileKind> = {
  0o100000: "file",
  0o040000: "dir",
  0o120000: "symlink",
  0o020000: "char",
  0o060000: "block",
  0o010000: "fifo",
  0o140000: "socket",
};
const statBuf = new Uint8Array(256);
const statView = new DataView(statBuf.buffer);

/**
 * The kind of node `name` names in `dirFd` (a final symlink is reported, not followed), or
 * `undefined` when nothing is there. Other failures throw a {@link SysError}.
 */
export function kindAt(dirFd: number, name: Name): FileKind | undefined {
  const r = lib().statx(dirFd, bytes(name), AtFlags.SYMLINK_NOFOLLOW, 0x1, statBuf);
  if (r < 0) {
    if (errno() === ERRNO.ENOENT) return undefined;
    throw fail("statx", text(name));
  }
  const kind = KINDS[statView.getUint16(28, true) & 0o170000];
  if (kind === undefined) throw fail("statx", text(name));
  return kind;
}

/** `fchown(2)` on an open fd. `what` names the file in errors. */
export function fchown(fd: number, uid: number, gid: number, what = `fd ${fd}`): void {
  check(lib().fchown(fd, uid >>> 0, gid >>> 0), "fchown", what);
}

/** `fchmod(2)`, keeping setuid/setgid/sticky bits (`mode & 0o7777`). */
export function fchmod(fd: number, mode: number, what = `fd ${fd}`): void {
  check(lib().fchmod(fd, mode & 0o7777), "fchmod", what);
}

/** `fchownat(dirFd, name, uid, gid, AT_SYMLINK_NOFOLLOW)`: a symlink itself changes owner. */
export function lchownAt(dirFd: number, name: Name, uid: number, gid: number): void {
  const r = lib().fchownat(dirFd, bytes(name), uid >>> 0, gid >>> 0, AtFlags.SYMLINK_NOFOLLOW);
  check(r, "fchownat", text(name));
}

/**
 * `fchmodat(dirFd, name, mode, 0)`. Follows a final symlink like `chmod(2)` (Linux cannot change
 * a symlink's mode): callers must know `name` is not one.
 */
export function chmodAt(dirFd: number, name: Name, mode: number): void {
  check(lib().fchmodat(dirFd, bytes(name), mode & 0o7777, 0), "fchmodat", text(name));
}

/** `struct timespec[2]` (two pairs of 64-bit integers, little-endian on every Deno target). */
const timesBytes = new Uint8Array(32);
const timesView = new DataView(timesBytes.buffer);
function put64(off: number, v: number): void {
  const high = Math.floor(v / 0x1_0000_0000);
  timesView.setUint32(off, v - high * 0x1_0000_0000, true);
  timesView.setInt32(off + 4, high, true);
}
function setTimes(atime: Timespec, mtime: Timespec): Uint8Array<ArrayBuffer> {
  put64(0, atime.sec);
  put64(8, atime.nsec);
  put64(16, mtime.sec);
  put64(24, mtime.nsec);
  return timesBytes;
}

/** `futimens(2)`: access and modification times of an open fd, with nanoseconds. */
export function futimens(fd: number, atime: Timespec, mtime: Timespec, what = `fd ${fd}`): void {
  check(lib().futimens(fd, setTimes(atime, mtime)), "futimens", what);
}

/** `utimensat(dirFd, name, times, AT_SYMLINK_NOFOLLOW)`: times of a symlink itself too. */
export function lutimesAt(dirFd: number, name: Name, atime: Timespec, mtime: Timespec): void {
  const r = lib().utimensat(dirFd, bytes(name), setTimes(atime, mtime), AtFlags.SYMLINK_NOFOLLOW);
  check(r, "utimensat", text(name));
}

/** `fsetxattr(2)`: sets attribute `name` of an open fd to `value`. */
export function fsetxattr(fd: number, name: string, value: Uint8Array, what = `fd ${fd}`): void {
  const buf = new Uint8Array(Math.max(1, value.length));
  buf.set(value);
  const r = lib().fsetxattr(fd, cstr(name, "fsetxattr"), buf, BigInt(value.length), 0);
  check(r, "fsetxattr", `${what}@${name}`);
}

/**
 * Writes all of `data` to `fd` with synchronous `write(2)` calls (on this thread: for regular
 * files, where a write does not block for long). `what` names the file in errors.
 */
export function writeAllSync(fd: number, data: Uint8Array, what = `fd ${fd}`): void {
  let at = 0;
  const n = data.length;
  while (at < n) {
    const rest = at === 0 ? data : data.subarray(at);
    const w = Number(lib().write_now(fd, rest as Uint8Array<ArrayBuffer>, BigInt(rest.length)));
    if (w < 0) {
      if (errno() === ERRNO.EINTR) continue;
      throw fail("write", what);
    }
    if (w === 0) throw new SysError("EIO", "write", what, 0, "wrote nothing");
    at += w;
  }
}

/** Closes `fd` (synchronously). */
export function closeFdSync(fd: number, what = `fd ${fd}`): void {
  check(lib().close_at(fd), "close", what);
}

/**
 * The {@link SysError} for a `try*` call that returned `r` (`-errno`), naming `call` and `what`.
 */
export function errorOf(r: number, call: string, what: string): SysError {
  const n = -r;
  const p = lib().strerror(n);
  const detail = p === null ? `errno ${n}` : Deno.UnsafePointerView.getCString(p);
  return new SysError(errnoName(n), call, what, n, detail);
}
