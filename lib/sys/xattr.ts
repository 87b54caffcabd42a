/**
 * Extended attributes on a path itself, never following a final symlink: `lsetxattr(2)`,
 * `lgetxattr(2)`, `llistxattr(2)`, `lremovexattr(2)`.
 *
 * @module
 */
import { check, cstr, errno, fail, lib } from "./_ffi.ts";
import { ERRNO } from "./errors.ts";

/** How {@link lsetxattr} treats an existing attribute. */
export type XattrFlag = "any" | "create" | "replace";
const FLAG = { any: 0, create: 1, replace: 2 } as const;

/** Sets attribute `name` (e.g. `"trusted.overlay.opaque"`) of `path` to `value`. */
export function lsetxattr(
  path: string,
  name: string,
  value: Uint8Array | string,
  flag: XattrFlag = "any",
): void {
  const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
  // A zero-length buffer may be passed as a null pointer, which the kernel accepts for size 0.
  const buf = new Uint8Array(Math.max(1, bytes.length));
  buf.set(bytes);
  const result = lib().lsetxattr(
    cstr(path, "lsetxattr"),
    cstr(name, "lsetxattr"),
    buf,
    BigInt(bytes.length),
    FLAG[flag],
  );
  check(result, "lsetxattr", `${path}@${name}`);
}

/** Sizes the buffer with a first call, then reads; retries if the value grew in between. */
function readSized(
  call: string,
  path: string,
  read: (buf: Uint8Array<ArrayBuffer> | null, size: number) => number | bigint,
): Uint8Array | undefined {
  for (let attempt = 0; attempt < 4; attempt++) {
    const size = Number(read(null, 0));
    if (size < 0) {
      if (errno() === ERRNO.ENODATA) return undefined;
      throw fail(call, path);
    }
    const buf = new Uint8Array(size);
    const got = Number(read(buf, size));
    if (got >= 0) return buf.subarray(0, got);
    if (errno() === ERRNO.ENODATA) return undefined;
    if (errno() !== ERRNO.ERANGE) throw fail(call, path);
  }
  throw fail(call, path);
}

/** Value of attribute `name` of `path`, or `undefined` when it is not set. */
export function lgetxattr(path: string, name: string): Uint8Array | undefined {
  const p = cstr(path, "lgetxattr");
  const n = cstr(name, "lgetxattr");
  return readSized(
    "lgetxattr",
    `${path}@${name}`,
    (buf, size) => lib().lgetxattr(p, n, buf, BigInt(size)),
  );
}

/** Names of the attributes of `path` that this process may see. */
export function llistxattr(path: string): string[] {
  const p = cstr(path, "llistxattr");
  const raw = readSized("llistxattr", path, (buf, size) => lib().llistxattr(p, buf, BigInt(size)));
  if (!raw || raw.length === 0) return [];
  return new TextDecoder().decode(raw).split("\0").filter((s) => s.length > 0);
}

/** Removes attribute `name` of `path` (throws `ENODATA` when it is not set). */
export function lremovexattr(path: string, name: string): void {
  const result = lib().lremovexattr(cstr(path, "lremovexattr"), cstr(name, "lremovexattr"));
  check(result, "lremovexattr", `${path}@${name}`);
}
