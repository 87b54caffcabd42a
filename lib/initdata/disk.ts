/**
 * The init-data block device as Kata delivers it (spec/runtime.md §3.6): ASCII `initdata`
 * (8 bytes), the gzip blob's length as a little-endian uint64, the gzip of the init-data TOML,
 * zero padding to a 512-byte multiple. Also the annotation form, base64(gzip(TOML)), and the
 * digest padding each TEE expects (SNP HOSTDATA 32 bytes, TDX MRCONFIGID 48, CCA 64).
 *
 * @module
 */
import { CodedError } from "../errors.ts";

export class InitDataDiskError extends CodedError<"bad-init-data-disk"> {}

const MAGIC = new TextEncoder().encode("initdata");
const SECTOR = 512;
/** Refuse init-data bigger than this (compressed or not); policies are large but not this large. */
export const MAX_INIT_DATA_BYTES = 16 * 1024 * 1024;

async function pipeBytes(
  data: Uint8Array,
  stream: { readable: ReadableStream<Uint8Array>; writable: WritableStream<BufferSource> },
) {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(stream)
    .getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_INIT_DATA_BYTES) {
      await reader.cancel();
      throw new InitDataDiskError(
        "bad-init-data-disk",
        `init-data exceeds ${MAX_INIT_DATA_BYTES} bytes`,
      );
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** gzip of the TOML text. */
export function gzipInitData(toml: string): Promise<Uint8Array> {
  return pipeBytes(new TextEncoder().encode(toml), new CompressionStream("gzip"));
}

/** The `io.katacontainers.config.hypervisor.cc_init_data` annotation value for `toml`. */
export async function initDataAnnotation(toml: string): Promise<string> {
  return (await gzipInitData(toml)).toBase64();
}

/** Decodes an annotation value back to the TOML text (exact bytes, as measured). */
export async function parseInitDataAnnotation(value: string): Promise<string> {
  let gz: Uint8Array;
  try {
    gz = Uint8Array.fromBase64(value.trim());
  } catch (err) {
    throw new InitDataDiskError("bad-init-data-disk", "init-data annotation is not base64", {
      cause: err,
    });
  }
  return await gunzipText(gz);
}

async function gunzipText(gz: Uint8Array): Promise<string> {
  let raw: Uint8Array;
  try {
    raw = await pipeBytes(gz, new DecompressionStream("gzip"));
  } catch (err) {
    if (err instanceof InitDataDiskError) throw err;
    throw new InitDataDiskError(
      "bad-init-data-disk",
      `init-data is not valid gzip: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch (err) {
    throw new InitDataDiskError("bad-init-data-disk", "init-data is not UTF-8 text", {
      cause: err,
    });
  }
}

/** The raw disk image for `toml` (length a multiple of 512). */
export async function encodeInitDataDisk(toml: string): Promise<Uint8Array> {
  const gz = await gzipInitData(toml);
  const len = 16 + gz.length;
  const out = new Uint8Array(Math.ceil(len / SECTOR) * SECTOR);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setBigUint64(8, BigInt(gz.length), true);
  out.set(gz, 16);
  return out;
}

/** True when `head` (the first 8+ bytes of a device) starts with the init-data magic. */
export function hasInitDataMagic(head: Uint8Array): boolean {
  return head.length >= MAGIC.length && MAGIC.every((b, i) => head[i] === b);
}

/** Decodes a disk image (or its first bytes covering the blob) to the TOML text. */
export async function decodeInitDataDisk(disk: Uint8Array): Promise<string> {
  if (!hasInitDataMagic(disk)) {
    throw new InitDataDiskError(
      "bad-init-data-disk",
      "device does not start with the `initdata` magic",
    );
  }
  if (disk.length < 16) {
    throw new InitDataDiskError("bad-init-data-disk", "init-data header is truncated");
  }
  const len = new DataView(disk.buffer, disk.byteOffset, disk.byteLength).getBigUint64(8, true);
  if (len === 0n || len > BigInt(MAX_INIT_DATA_BYTES)) {
    throw new InitDataDiskError("bad-init-data-disk", `init-data length ${len} is out of range`);
  }
  if (BigInt(disk.length) < 16n + len) {
    throw new InitDataDiskError(
      "bad-init-data-disk",
      `init-data length ${len} exceeds the device (${disk.length - 16} bytes after the header)`,
    );
  }
  return await gunzipText(disk.subarray(16, 16 + Number(len)));
}

/**
 * The init-data digest laid out for a TEE's field: zero-padded or truncated to `size` bytes
 * (SNP HOSTDATA 32, TDX MRCONFIGID 48, CCA personalization value 64).
 */
export function digestForField(digest: Uint8Array, size: 32 | 48 | 64): Uint8Array {
  const out = new Uint8Array(size);
  out.set(digest.subarray(0, size));
  return out;
}
