/**
 * Decompression stages for layer streams: gzip (multi-member, as `gzip` and Go's reader accept)
 * and zstd through node:zlib, or a pass-through for uncompressed tars. `DecompressionStream` is
 * not used: it rejects multi-member gzip and is slower here (see README).
 *
 * @module
 */
import { Duplex } from "node:stream";
import zlib from "node:zlib";
import type { Compression } from "@coco/lib/oci";

/** Output chunk size of the decompressors (larger chunks, fewer hops through the stream). */
const CHUNK = 256 * 1024;

/** A transform that decompresses `compression`. */
export function decompressor(
  compression: Compression,
): ReadableWritablePair<Uint8Array, Uint8Array> {
  switch (compression) {
    case "none":
      return new TransformStream<Uint8Array, Uint8Array>();
    case "gzip":
      return Duplex.toWeb(zlib.createGunzip({ chunkSize: CHUNK })) as ReadableWritablePair<
        Uint8Array,
        Uint8Array
      >;
    case "zstd":
      return Duplex.toWeb(zlib.createZstdDecompress({ chunkSize: CHUNK })) as ReadableWritablePair<
        Uint8Array,
        Uint8Array
      >;
  }
}
