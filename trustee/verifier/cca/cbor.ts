/**
 * A small, strict CBOR (RFC 8949) codec for CCA attestation tokens and COSE.
 *
 * Decoding accepts definite-length items only, bounds every declared length by the bytes that are
 * actually left (so a hostile length cannot make us allocate), limits nesting depth, refuses
 * duplicate map keys, invalid UTF-8 and trailing bytes, and reports the byte offset of the
 * problem. Map keys are restricted to integers and text (all COSE and CCA labels are).
 *
 * Encoding is deterministic (RFC 8949 §4.2.1): shortest integer and length forms, definite
 * lengths, map keys sorted by the bytewise order of their encodings. That is what we need to build
 * COSE `Sig_structure`s and to mint tokens in tests.
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";
import { concat } from "@coco/lib/bytes";

/** A CBOR map key: the only key types CCA and COSE use. Integers within ±2^53 are numbers. */
export type CborKey = number | bigint | string;

/** A decoded or encodable CBOR data item. */
export type CborValue =
  | number
  | bigint
  | string
  | boolean
  | null
  | undefined
  | Uint8Array
  | CborValue[]
  | Map<CborKey, CborValue>
  | CborTag;

/** A tagged data item (major type 6). */
export class CborTag {
  constructor(readonly tag: number, readonly value: CborValue) {}
}

/** Why CBOR could not be decoded or encoded. */
export type CborErrorCode = "truncated" | "malformed" | "unsupported" | "limit";

/** CBOR input was malformed, used an unsupported feature or exceeded a limit. */
export class CborError extends CodedError<CborErrorCode> {}

/** Bounds applied while decoding untrusted input. */
export interface CborLimits {
  /** Maximum nesting of arrays, maps and tags (default 16). */
  maxDepth?: number;
  /** Maximum input size in bytes (default 1 MiB). */
  maxBytes?: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly maxDepth: number) {}

  need(n: number, what: string): void {
    if (n > this.buf.length - this.pos) {
      throw new CborError(
        "truncated",
        `CBOR ${what} at offset ${this.pos} needs ${n} bytes but only ${
          this.buf.length - this.pos
        } remain`,
      );
    }
  }

  /** Reads the argument of an initial byte; returns a number when safe, else a bigint. */
  argument(info: number, start: number): number | bigint {
    if (info < 24) return info;
    const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (size === 0) {
      const why = info === 31 ? "indefinite-length items are not supported" : "reserved value";
      throw new CborError(
        info === 31 ? "unsupported" : "malformed",
        `CBOR item at offset ${start}: ${why} (additional info ${info})`,
      );
    }
    this.need(size, "argument");
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, size);
    this.pos += size;
    if (size === 1) return view.getUint8(0);
    if (size === 2) return view.getUint16(0);
    if (size === 4) return view.getUint32(0);
    const big = view.getBigUint64(0);
    return big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  /** A length that must fit in what is left of the input (each element takes at least 1 byte). */
  length(arg: number | bigint, start: number, what: string): number {
    const left = this.buf.length - this.pos;
    if (typeof arg === "bigint" || arg > left) {
      throw new CborError(
        "truncated",
        `CBOR ${what} at offset ${start} declares length ${arg} but only ${left} bytes remain`,
      );
    }
    return arg;
  }

  item(depth: number): CborValue {
    const start = this.pos;
    this.need(1, "item");
    const initial = this.buf[this.pos++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) return this.simple(info, start);
    const arg = this.argument(info, start);
    switch (major) {
      case 0:
        return arg;
      case 1:
        return typeof arg === "bigint" || arg >= Number.MAX_SAFE_INTEGER
          ? -1n - BigInt(arg)
          : -1 - arg;
      case 2: {
        const n = this.length(arg, start, "byte string");
        return this.buf.slice(this.pos, this.pos += n);
      }
      case 3: {
        const n = this.length(arg, start, "text string");
        try {
          return utf8.decode(this.buf.subarray(this.pos, this.pos += n));
        } catch {
          throw new CborError("malformed", `CBOR text string at offset ${start} is not UTF-8`);
        }
      }
      default:
        return this.nested(major, arg, start, depth);
    }
  }

  nested(major: number, arg: number | bigint, start: number, depth: number): CborValue {
    if (depth >= this.maxDepth) {
      throw new CborError(
        "limit",
        `CBOR item at offset ${start} nests deeper than ${this.maxDepth} levels`,
      );
    }
    if (major === 6) {
      if (typeof arg === "bigint") {
        throw new CborError("unsupported", `CBOR tag at offset ${start} is too large`);
      }
      return new CborTag(arg, this.item(depth + 1));
    }
    if (major === 4) {
      const n = this.length(arg, start, "array");
      const out: CborValue[] = [];
      for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
      return out;
    }
    const n = this.length(arg, start, "map");
    const out = new Map<CborKey, CborValue>();
    for (let i = 0; i < n; i++) {
      const keyAt = this.pos;
      const key = this.item(depth + 1);
      if (typeof key !== "number" && typeof key !== "bigint" && typeof key !== "string") {
        throw new CborError(
          "unsupported",
          `CBOR map key at offset ${keyAt} is not an integer or text string`,
        );
      }
      if (out.has(key)) {
        throw new CborError("malformed", `CBOR map at offset ${start} repeats key ${String(key)}`);
      }
      out.set(key, this.item(depth + 1));
    }
    return out;
  }

  simple(info: number, start: number): CborValue {
    switch (info) {
      case 20:
        return false;
      case 21:
        return true;
      case 22:
        return null;
      case 23:
        return undefined;
      case 25:
        this.need(2, "half float");
        return halfToNumber((this.buf[this.pos++]! << 8) | this.buf[this.pos++]!);
      case 26: {
        this.need(4, "float");
        const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0);
        this.pos += 4;
        return v;
      }
      case 27: {
        this.need(8, "double");
        const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0);
        this.pos += 8;
        return v;
      }
      default:
        throw new CborError(
          info === 31 ? "malformed" : "unsupported",
          `CBOR simple value ${info} at offset ${start} is not supported`,
        );
    }
  }
}

function halfToNumber(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (mant + 1024) * 2 ** (exp - 25);
}

/** Decodes exactly one CBOR data item from `bytes`; trailing bytes are an error. */
export function decodeCbor(bytes: Uint8Array, limits: CborLimits = {}): CborValue {
  const maxBytes = limits.maxBytes ?? 1 << 20;
  if (bytes.length > maxBytes) {
    throw new CborError("limit", `CBOR input is ${bytes.length} bytes, more than ${maxBytes}`);
  }
  const r = new Reader(bytes, limits.maxDepth ?? 16);
  const v = r.item(0);
  if (r.pos !== bytes.length) {
    throw new CborError(
      "malformed",
      `CBOR input has ${
        bytes.length - r.pos
      } trailing bytes after the item ending at offset ${r.pos}`,
    );
  }
  return v;
}

function head(major: number, arg: number | bigint): Uint8Array {
  const m = major << 5;
  const n = BigInt(arg);
  if (n < 24n) return Uint8Array.of(m | Number(n));
  if (n < 0x100n) return Uint8Array.of(m | 24, Number(n));
  if (n < 0x10000n) return Uint8Array.of(m | 25, Number(n >> 8n), Number(n & 0xffn));
  const out = new Uint8Array(n < 0x100000000n ? 5 : 9);
  const view = new DataView(out.buffer);
  if (out.length === 5) {
    out[0] = m | 26;
    view.setUint32(1, Number(n));
  } else {
    out[0] = m | 27;
    view.setBigUint64(1, n);
  }
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

const utf8e = new TextEncoder();

function encodeInto(v: CborValue, parts: Uint8Array[]): void {
  if (typeof v === "number" || typeof v === "bigint") {
    if (typeof v === "number" && !Number.isSafeInteger(v)) {
      throw new CborError("unsupported", `cannot encode ${v}: only integers are encoded`);
    }
    const n = BigInt(v);
    if (n >= 2n ** 64n || n < -(2n ** 64n)) {
      throw new CborError("unsupported", `cannot encode ${v}: integer out of CBOR range`);
    }
    parts.push(n >= 0n ? head(0, n) : head(1, -1n - n));
  } else if (typeof v === "string") {
    const b = utf8e.encode(v);
    parts.push(head(3, b.length), b);
  } else if (v instanceof Uint8Array) {
    parts.push(head(2, v.length), v);
  } else if (Array.isArray(v)) {
    parts.push(head(4, v.length));
    for (const x of v) encodeInto(x, parts);
  } else if (v instanceof Map) {
    const entries = [...v].map(([k, x]) => [encodeCbor(k), encodeCbor(x)] as const);
    entries.sort((a, b) => compareBytes(a[0], b[0]));
    parts.push(head(5, entries.length));
    for (const [k, x] of entries) parts.push(k, x);
  } else if (v instanceof CborTag) {
    parts.push(head(6, v.tag));
    encodeInto(v.value, parts);
  } else {
    parts.push(Uint8Array.of(v === false ? 0xf4 : v === true ? 0xf5 : v === null ? 0xf6 : 0xf7));
  }
}

/** Encodes `value` deterministically (RFC 8949 §4.2.1 core deterministic encoding). */
export function encodeCbor(value: CborValue): Uint8Array<ArrayBuffer> {
  const parts: Uint8Array[] = [];
  encodeInto(value, parts);
  return concat(...parts);
}
