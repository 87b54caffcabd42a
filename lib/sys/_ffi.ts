/**
 * The libc handle behind `lib/sys`: opened once, on first use, with the symbols we call. Also
 * the helpers every wrapper shares: NUL-terminated path buffers, errno reading and the check
 * that turns a `-1` result into a {@link SysError}.
 *
 * @module
 */
import { errnoName, SysError } from "./errors.ts";

const SYMBOLS = {
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  chmod: { parameters: ["buffer", "u32"], result: "i32" },
  lsetxattr: {
    parameters: ["buffer", "buffer", "buffer", "usize", "i32"],
    result: "i32",
  },
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  lremovexattr: { parameters: ["buffer", "buffer"], result: "i32" },
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  // Directory-fd calls (at.ts); synchronous, so errno is read on the calling thread.
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  symlinkat: { parameters: ["buffer", "i32", "buffer"], result: "i32" },
  linkat: { parameters: ["i32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  mknodat: { parameters: ["i32", "buffer", "u32", "u64"], result: "i32" },
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  fchownat: { parameters: ["i32", "buffer", "u32", "u32", "i32"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  fchmodat: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  futimens: { parameters: ["i32", "buffer"], result: "i32" },
  fsetxattr: { parameters: ["i32", "buffer", "buffer", "usize", "i32"], result: "i32" },
  write_now: { name: "write", parameters: ["i32", "buffer", "usize"], result: "isize" },
  close_at: { name: "close", parameters: ["i32"], result: "i32" },
  sync: { parameters: [], result: "void" },
  reboot: { parameters: ["i32"], result: "i32" },
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  waitpid_thread: {
    name: "waitpid",
    parameters: ["i32", "buffer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  waitid: { parameters: ["i32", "i32", "buffer", "i32"], result: "i32" },
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
  close: { parameters: ["i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  accept: { parameters: ["i32", "pointer", "pointer"], result: "i32", nonblocking: true },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize", nonblocking: true },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | undefined;

/**
 * The libc symbols, loaded on first call (needs `--allow-ffi`). The library stays open for the
 * life of the process; tests running with the resource sanitizer call {@link lib} ({@link loadSys}) at module top level so the load does not count as a leak of the first test.
 */
export function lib(): Libc {
  if (!libc) libc = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  return libc;
}

/** Opens libc now instead of on first call (see {@link lib}). */
export function loadSys(): void {
  lib();
}

const encoder = new TextEncoder();

/**
 * `s` as a NUL-terminated byte buffer. A string holding NUL cannot be passed to C without being
 * silently cut, so it is refused with `EINVAL_ARG`.
 */
export function cstr(s: string, call: string): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) {
    throw new SysError("EINVAL_ARG", call, s.replaceAll("\0", "\\0"), 0, "argument holds NUL");
  }
  const out = new Uint8Array(s.length * 3 + 1);
  const { written } = encoder.encodeInto(s, out);
  return out.subarray(0, written + 1);
}

/** The calling thread's errno (read right after the failed call). */
export function errno(): number {
  const p = lib().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32();
}

/** Builds the error for a failed call from the current errno. */
export function fail(call: string, path: string): SysError {
  const n = errno();
  const p = lib().strerror(n);
  const detail = p === null ? `errno ${n}` : Deno.UnsafePointerView.getCString(p);
  return new SysError(errnoName(n), call, path, n, detail);
}

/** Throws the errno of `call` on `path` when `result` is negative. */
export function check(result: number | bigint, call: string, path: string): void {
  if (result < 0) throw fail(call, path);
}
