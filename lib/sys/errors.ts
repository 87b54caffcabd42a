/**
 * Errors from Linux system calls made through FFI: the failing call, the path it was given and
 * the errno, as a stable `code` (the errno name, e.g. `"EPERM"`).
 *
 * @module
 */
import { CodedError } from "../errors.ts";

/** errno values (Linux, same on x86_64 and aarch64) by name. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENOTBLK: 15,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EOPNOTSUPP: 95,
  EDQUOT: 122,
} as const;

/** Name of a known errno; `EUNKNOWN` for any other value (the number stays in `errno`). */
export type ErrnoName = keyof typeof ERRNO | "EUNKNOWN";

const BY_NUMBER = new Map<number, ErrnoName>(
  Object.entries(ERRNO).map(([name, n]) => [n, name as ErrnoName]),
);

/** The errno name for a number, `EUNKNOWN` when it is not in {@link ERRNO}. */
export function errnoName(errno: number): ErrnoName {
  return BY_NUMBER.get(errno) ?? "EUNKNOWN";
}

/** A failed system call: `code` is the errno name, `call` and `path` say what was attempted. */
export class SysError extends CodedError<ErrnoName | "EINVAL_ARG"> {
  /** The libc function that failed, e.g. `"mknod"`. */
  readonly call: string;
  /** The path (or target) the call was given; empty when the call takes none. */
  readonly path: string;
  /** The raw errno value (0 for argument errors caught before the call). */
  readonly errno: number;

  constructor(
    code: ErrnoName | "EINVAL_ARG",
    call: string,
    path: string,
    errno: number,
    detail: string,
  ) {
    super(code, `${call}(${path ? JSON.stringify(path) : ""}) failed: ${code} (${detail})`);
    this.call = call;
    this.path = path;
    this.errno = errno;
  }
}
