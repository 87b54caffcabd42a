/**
 * Raw file descriptors through libc, for character devices that need a read and a write in
 * flight at the same time (a virtio-serial port carrying ttrpc): `Deno.FsFile` runs one
 * operation at a time per file, so a pending read blocks every write. `read`/`write` here run
 * on Deno's blocking pool, so they neither block the event loop nor each other.
 *
 * @module
 */
import { check, cstr, lib } from "./_ffi.ts";
import { SysError } from "./errors.ts";

/** `open(2)` flags. */
export const OpenFlags = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  NOCTTY: 0o400,
  CLOEXEC: 0o2000000,
} as const;

/** Opens `path` with `flags` (close-on-exec is always added); returns the fd. */
export function openFd(path: string, flags: number, mode = 0): number {
  const fd = lib().open(cstr(path, "open"), flags | OpenFlags.CLOEXEC, mode);
  check(fd, "open", path);
  return fd;
}

// errno of a call made on a pool thread cannot be read from this thread.
const poolError = (call: string, fd: number) =>
  new SysError("EUNKNOWN", call, `fd ${fd}`, 0, "failed on a blocking-pool thread");

/** Reads up to `buf.length` bytes; 0 at end of file (or a disconnected port). */
export async function readFd(fd: number, buf: Uint8Array<ArrayBuffer>): Promise<number> {
  const n = Number(await lib().read(fd, buf, BigInt(buf.length)));
  if (n < 0) throw poolError("read", fd);
  return n;
}

/** Writes all of `data`. */
export async function writeFd(fd: number, data: Uint8Array<ArrayBuffer>): Promise<void> {
  let at = 0;
  while (at < data.length) {
    const rest = data.subarray(at);
    const n = Number(await lib().write(fd, rest, BigInt(rest.length)));
    if (n <= 0) throw poolError("write", fd);
    at += n;
  }
}

/** Closes `fd`. */
export function closeFd(fd: number): void {
  check(lib().close(fd), "close", `fd ${fd}`);
}
