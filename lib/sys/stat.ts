/**
 * A cheap `lstat` for hot paths: the kind of node at a path, or `undefined` when nothing is
 * there, without the cost of a thrown `NotFound` (`statx(2)` with `AT_SYMLINK_NOFOLLOW`; its
 * buffer layout is the same on every architecture).
 *
 * @module
 */
import { cstr, errno, fail, lib } from "./_ffi.ts";
import { ERRNO } from "./errors.ts";

/** What a path names, never following a final symlink. */
export type FileKind = "file" | "dir" | "symlink" | "char" | "block" | "fifo" | "socket";

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_TYPE = 0x1;
const STX_MODE_OFFSET = 28;
const KINDS: Record<number, FileKind> = {
  0o100000: "file",
  0o040000: "dir",
  0o120000: "symlink",
  0o020000: "char",
  0o060000: "block",
  0o010000: "fifo",
  0o140000: "socket",
};

const buf = new Uint8Array(256);
const view = new DataView(buf.buffer);

/**
 * The kind of node at `path` (a final symlink is reported, not followed), or `undefined` when
 * the path does not exist. Other failures (`ENOTDIR`, `EACCES` …) throw a {@link SysError}.
 */
export function lstatKind(path: string): FileKind | undefined {
  const r = lib().statx(AT_FDCWD, cstr(path, "statx"), AT_SYMLINK_NOFOLLOW, STATX_TYPE, buf);
  if (r < 0) {
    if (errno() === ERRNO.ENOENT) return undefined;
    throw fail("statx", path);
  }
  const kind = KINDS[view.getUint16(STX_MODE_OFFSET, true) & 0o170000];
  if (kind === undefined) throw fail("statx", path);
  return kind;
}
