/**
 * The default {@link Unpacker}: guest/image/unpack's safe streaming extractor writing an overlayfs
 * layer directory (whiteouts as 0/0 char devices, opaque markers as xattrs). Ownership from the
 * tar headers is applied only when running as root.
 *
 * @module
 */
import { unpackLayer } from "../unpack/mod.ts";
import type { Unpacker } from "./hooks.ts";

/** Unpacks into an overlay layer directory (`mode: "layer"`). */
export function layerUnpacker(options: { ownership?: boolean } = {}): Unpacker {
  const ownership = options.ownership ?? Deno.uid() === 0;
  return async (tar, dir) => {
    await unpackLayer(tar, dir, { mode: "layer", ownership });
  };
}
