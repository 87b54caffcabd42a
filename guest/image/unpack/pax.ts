/**
 * PAX extended headers (POSIX.1-2001 `x` and `g` records, `"<len> <key>=<value>\n"`): parsing
 * the records, and reading the keys we honour — `path`, `linkpath`, `size`, `uid`, `gid`,
 * `mtime`, `atime`, `SCHILY.xattr.<name>` — into typed values. Values stay bytes until read
 * (xattr values are binary).
 *
 * @module
 */
import { UnpackError } from "./errors.ts";

/** Records of one PAX header, key → raw value bytes. */
export type PaxRecords = Map<string, Uint8Array>;

/** A point in time from a PAX or header field. */
export interface TarTime {
  sec: number;
  nsec: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const XATTR_PREFIX = "SCHILY.xattr.";

function bad(what: string): UnpackError {
  return new UnpackError("bad_header", undefined, `malformed PAX header: ${what}`);
}

/** Decodes UTF-8 strictly (invalid bytes are an error naming `what`). */
export function decodeUtf8(b: Uint8Array, what: string): string {
  // ASCII (nearly every name) without a call into the runtime's decoder.
  if (b.length <= 4096) {
    let ascii = true;
    for (let i = 0; i < b.length; i++) {
      if (b[i]! > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, b as unknown as number[]);
  }
  try {
    return utf8.decode(b);
  } catch {
    throw new UnpackError("bad_name", undefined, `${what} is not valid UTF-8`);
  }
}

/** Splits a PAX header body into records; every length must match its record exactly. */
export function parsePaxRecords(body: Uint8Array): PaxRecords {
  const out: PaxRecords = new Map();
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) {
      // Some writers pad the body with NULs after the last record.
      for (let i = pos; i < body.length; i++) if (body[i] !== 0) throw bad("data after padding");
      break;
    }
    let len = 0;
    let i = pos;
    while (i < body.length && body[i]! >= 0x30 && body[i]! <= 0x39 && i - pos < 10) {
      len = len * 10 + body[i]! - 0x30;
      i++;
    }
    if (i === pos || body[i] !== 0x20) throw bad(`bad record length at byte ${pos}`);
    const end = pos + len;
    if (len <= i - pos + 1 || end > body.length || body[end - 1] !== 0x0a) {
      throw bad(`record length ${len} at byte ${pos} does not fit`);
    }
    const rec = body.subarray(i + 1, end - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw bad(`record at byte ${pos} has no key`);
    out.set(decodeUtf8(rec.subarray(0, eq), "a PAX key"), rec.subarray(eq + 1));
    pos = end;
  }
  return out;
}

function decimal(v: string, key: string): number {
  if (!/^[0-9]{1,16}$/.test(v)) throw bad(`${key}=${JSON.stringify(v)} is not a decimal number`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw bad(`${key} is too large`);
  return n;
}

function time(v: string, key: string): TarTime {
  const m = /^(-?)([0-9]{1,15})(?:\.([0-9]*))?$/.exec(v);
  if (!m) throw bad(`${key}=${JSON.stringify(v)} is not a time`);
  const sec = Number(m[2]);
  const nsec = Number(((m[3] ?? "") + "000000000").slice(0, 9));
  if (m[1] === "-") {
    return nsec === 0 ? { sec: -sec, nsec: 0 } : { sec: -sec - 1, nsec: 1e9 - nsec };
  }
  return { sec, nsec };
}

function noNul(v: string, key: string): string {
  if (v.includes("\0")) {
    throw new UnpackError("bad_name", v.replaceAll("\0", "\\0"), `PAX ${key} holds a NUL byte`);
  }
  return v;
}

/** The PAX keys an entry honours, typed. */
export interface PaxOverrides {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: TarTime;
  atime?: TarTime;
  /** `SCHILY.xattr.<name>` → value bytes. */
  xattrs: Map<string, Uint8Array>;
}

/**
 * Reads the honoured keys of merged records (global then local). An empty value means "unset"
 * (POSIX). `GNU.sparse.*` is refused: sparse files are not extracted.
 */
export function readPax(records: PaxRecords): PaxOverrides {
  const out: PaxOverrides = { xattrs: new Map() };
  for (const [key, raw] of records) {
    if (raw.length === 0) continue;
    if (key.startsWith(XATTR_PREFIX)) {
      const name = key.slice(XATTR_PREFIX.length);
      if (name.length === 0) throw bad("SCHILY.xattr. without an attribute name");
      out.xattrs.set(name, raw);
      continue;
    }
    if (key.startsWith("GNU.sparse.")) {
      throw new UnpackError("unsupported_entry", undefined, "GNU sparse files are not supported");
    }
    switch (key) {
      case "path":
        out.path = noNul(decodeUtf8(raw, "PAX path"), key);
        break;
      case "linkpath":
        out.linkpath = noNul(decodeUtf8(raw, "PAX linkpath"), key);
        break;
      case "size":
        out.size = decimal(decodeUtf8(raw, key), key);
        break;
      case "uid":
      case "gid":
        out[key] = decimal(decodeUtf8(raw, key), key);
        break;
      case "mtime":
      case "atime":
        out[key] = time(decodeUtf8(raw, key), key);
        break;
      default: // comment, uname, gname, ctime, charset, vendor keys: not needed to extract
    }
  }
  return out;
}

/** Keys a global (`g`) header may not set: they only make sense for one entry. */
export const PER_ENTRY_KEYS: readonly string[] = ["path", "linkpath", "size"];
