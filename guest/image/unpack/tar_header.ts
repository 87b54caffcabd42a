/**
 * The 512-byte tar header: ustar (POSIX), GNU and old v7 layouts, octal and GNU base-256
 * numbers, and the checksum. Parsing only; extensions (PAX, GNU long names) are merged by the
 * reader.
 *
 * @module
 */
import { UnpackError } from "./errors.ts";

/** Size of a tar block. */
export const BLOCK = 512;

/** A header block as written, before PAX and GNU long-name overrides. */
export interface RawHeader {
  /** Name bytes up to the first NUL (ustar prefix joined with `/`). */
  name: Uint8Array;
  linkname: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** The type flag character, e.g. `"0"`, `"5"`, `"x"`, `"L"`, or `"\0"`. */
  typeflag: string;
  devmajor: number;
  devminor: number;
  /** `ustar` (POSIX), `gnu` (`ustar ` + ` \0`) or `v7` (no magic). */
  format: "ustar" | "gnu" | "v7";
}

/** True when every byte of the block is zero (end-of-archive marker). */
export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function cstring(b: Uint8Array, start: number, len: number): Uint8Array {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

function bad(field: string): UnpackError {
  return new UnpackError("bad_header", undefined, `malformed ${field} field in a tar header`);
}

/**
 * A numeric field: octal digits (leading spaces, ended by space or NUL), or GNU base-256 when the
 * top bit of the first byte is set. Negative base-256 values are accepted only where `signed`.
 */
export function parseNumber(
  b: Uint8Array,
  start: number,
  len: number,
  field: string,
  signed = false,
): number {
  const end = start + len;
  if (len > 0 && (b[start]! & 0x80) !== 0) {
    const negative = (b[start]! & 0x40) !== 0;
    if (negative && !signed) throw bad(field);
    let v = BigInt(b[start]! & 0x7f) - (negative ? 0x80n : 0n);
    for (let i = start + 1; i < end; i++) v = (v << 8n) | BigInt(b[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw bad(field);
    }
    return Number(v);
  }
  // Indexes into the block directly: no subarray per field (seven fields per header).
  let i = start;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw bad(field);
    v = v * 8 + (c - 0x30);
    digits++;
  }
  for (; i < end; i++) if (b[i] !== 0 && b[i] !== 0x20) throw bad(field);
  if (digits > 0 && !Number.isSafeInteger(v)) throw bad(field);
  return v;
}

/** Checks the header checksum (unsigned sum, or the signed sum some old tars wrote). */
export function verifyChecksum(b: Uint8Array): void {
  const stored = parseNumber(b, 148, 8, "chksum");
  // Unsigned sum with the checksum field counted as spaces; the signed sum differs by 256 for
  // each byte over 127.
  let unsigned = 0;
  let high = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = b[i]!;
    unsigned += c;
    if (c > 127) high++;
  }
  for (let i = 148; i < 156; i++) {
    const c = b[i]!;
    unsigned += 0x20 - c;
    if (c > 127) high--;
  }
  const signed = unsigned - 256 * high;
  if (stored !== unsigned && stored !== signed) {
    throw new UnpackError(
      "bad_checksum",
      undefined,
      `tar header checksum ${stored} does not match its contents (${unsigned})`,
    );
  }
}

function magicOf(b: Uint8Array): RawHeader["format"] {
  // "ustar" at 257; then "\x0000" (POSIX), "  \x00" (GNU) or a blank version (some writers).
  if (b[257] !== 0x75 || b[258] !== 0x73 || b[259] !== 0x74 || b[260] !== 0x61) return "v7";
  if (b[261] !== 0x72) return "v7";
  if (b[262] === 0) return "ustar";
  if (b[262] === 0x20 && b[263] === 0x20 && b[264] === 0) return "gnu";
  return "v7";
}

/** Parses a non-zero header block (checksum verified first). */
export function parseHeader(b: Uint8Array): RawHeader {
  verifyChecksum(b);
  const format = magicOf(b);
  let name = cstring(b, 0, 100);
  if (format === "ustar") {
    const prefix = cstring(b, 345, 155);
    if (prefix.length > 0) {
      const joined = new Uint8Array(prefix.length + 1 + name.length);
      joined.set(prefix);
      joined[prefix.length] = 0x2f;
      joined.set(name, prefix.length + 1);
      name = joined;
    }
  }
  const hasDev = format !== "v7";
  return {
    name,
    linkname: cstring(b, 157, 100),
    mode: parseNumber(b, 100, 8, "mode"),
    uid: parseNumber(b, 108, 8, "uid"),
    gid: parseNumber(b, 116, 8, "gid"),
    size: parseNumber(b, 124, 12, "size"),
    mtime: parseNumber(b, 136, 12, "mtime", true),
    typeflag: String.fromCharCode(b[156]!),
    devmajor: hasDev ? parseNumber(b, 329, 8, "devmajor") : 0,
    devminor: hasDev ? parseNumber(b, 337, 8, "devminor") : 0,
    format,
  };
}
