/**
 * Safe, streaming unpacking of OCI image layers (tar streams) into an overlayfs layer directory
 * or onto a merged rootfs. A layer from a hostile registry cannot write outside the target: see
 * README.md for the rules and decisions.
 *
 * @example
 * ```ts
 * import { unpackLayer } from "./mod.ts";
 * const stats = await unpackLayer(tarStream, "/run/image/layers/1");
 * console.log(stats.entries, stats.bytes);
 * ```
 *
 * @module
 */
export { incompleteMarker, isIncomplete, unpackLayer, type UnpackStats } from "./unpack.ts";
export { type IdMapping, type UnpackOptions } from "./options.ts";
export { UnpackError, type UnpackErrorCode } from "./errors.ts";
export {
  DEFAULT_LIMITS,
  type EntryType,
  type TarEntry,
  type TarLimits,
  TarReader,
} from "./tar_reader.ts";
export { ChunkReader } from "./_chunks.ts";
