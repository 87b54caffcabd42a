/**
 * Big-endian reader and writer for TPM 2.0 wire structures. The reader throws
 * {@linkcode TpmError} `malformed` naming the structure being read when bytes run out.
 */
import { TpmError } from "./errors.ts";

/** Reads TPM wire values from `bytes`, front to back. */
export class TpmReader {
  #view: DataView;
  #bytes: Uint8Array;
  offset = 0;

  /** `what` names the structure in error messages, e.g. `TPMS_ATTEST`. */
  constructor(bytes: Uint8Array, readonly what: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.#bytes.length - this.offset;
  }

  #need(n: number, field: string) {
    if (this.remaining < n) {
      throw new TpmError(
        "malformed",
        `Cannot parse ${this.what}: ${field} needs ${n} bytes at offset ${this.offset}, ` +
          `only ${this.remaining} left`,
      );
    }
  }

  u8(field: string): number {
    this.#need(1, field);
    return this.#view.getUint8(this.offset++);
  }

  u16(field: string): number {
    this.#need(2, field);
    const v = this.#view.getUint16(this.offset);
    this.offset += 2;
    return v;
  }

  u32(field: string): number {
    this.#need(4, field);
    const v = this.#view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  u64(field: string): bigint {
    this.#need(8, field);
    const v = this.#view.getBigUint64(this.offset);
    this.offset += 8;
    return v;
  }

  /** `n` raw bytes (a copy). */
  bytes(n: number, field: string): Uint8Array<ArrayBuffer> {
    this.#need(n, field);
    const out = this.#bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** A TPM2B: u16 size then that many bytes; `max` bounds the size when given. */
  sized(field: string, max?: number): Uint8Array<ArrayBuffer> {
    const n = this.u16(`${field} size`);
    if (max !== undefined && n > max) {
      throw new TpmError(
        "malformed",
        `Cannot parse ${this.what}: ${field} is ${n} bytes, at most ${max} allowed`,
      );
    }
    return this.bytes(n, field);
  }

  /** Throws unless every byte was consumed. */
  end(): void {
    if (this.remaining !== 0) {
      throw new TpmError(
        "malformed",
        `Cannot parse ${this.what}: ${this.remaining} unexpected trailing bytes`,
      );
    }
  }
}

/** Builds TPM wire values; `bytes()` returns the result. */
export class TpmWriter {
  #parts: number[] = [];

  u8(v: number): this {
    this.#parts.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.u8(v >>> 8).u8(v);
  }

  u32(v: number): this {
    return this.u16(v >>> 16).u16(v & 0xffff);
  }

  raw(b: Uint8Array): this {
    for (const x of b) this.#parts.push(x);
    return this;
  }

  /** A TPM2B: u16 size then the bytes. */
  sized(b: Uint8Array): this {
    return this.u16(b.length).raw(b);
  }

  get length(): number {
    return this.#parts.length;
  }

  bytes(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.#parts);
  }
}
