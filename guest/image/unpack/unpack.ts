/**
 * `unpackLayer`: streams one tar layer into a directory, safely (see README.md for the rules).
 *
 * Contract on failure: before writing anything, a marker file `<targetDir>.incomplete` is
 * created next to the target; it is removed only when the whole layer applied. A rejected or
 * failed layer leaves the target partly written and the marker in place: the caller must
 * remove both (`isIncomplete()` tells a leftover from a crash at start-up). Nothing outside
 * `targetDir` other than that marker is ever created, changed or removed.
 *
 * @module
 */
import { ChunkReader } from "./_chunks.ts";
import { UnpackError } from "./errors.ts";
import { resolveOptions, type UnpackOptions } from "./options.ts";
import { classify } from "./paths.ts";
import { TarReader } from "./tar_reader.ts";
import { Tree } from "./_tree.ts";
import { LayerWriter } from "./_writer.ts";

/** Figures about one unpacked layer. */
export interface UnpackStats {
  /** Archive members applied (files, dirs, links, nodes, whiteouts; not extension headers). */
  entries: number;
  /** File content bytes written. */
  bytes: number;
  /** Bytes read from the stream (headers, padding and trailing blocks included). */
  archiveBytes: number;
  /** Whiteouts and opaque markers applied. */
  whiteouts: number;
  /** Xattrs skipped because the filesystem does not support them (`ignoreUnsupportedXattrs`). */
  xattrsSkipped: number;
  /** Wall-clock time of the unpack. */
  durationMs: number;
}

/** Path of the marker that flags `targetDir` as not completely unpacked. */
export function incompleteMarker(targetDir: string): string {
  return `${targetDir.replace(/\/+$/, "")}.incomplete`;
}

/** True when `targetDir` was left incomplete by a failed or interrupted unpack. */
export function isIncomplete(targetDir: string): boolean {
  try {
    Deno.lstatSync(incompleteMarker(targetDir));
    return true;
  } catch {
    return false;
  }
}

function canonicalRoot(targetDir: string): string {
  let root: string;
  try {
    root = Deno.realPathSync(targetDir);
  } catch (cause) {
    throw new UnpackError(
      "invalid_options",
      undefined,
      `target directory ${targetDir} is not usable`,
      { cause },
    );
  }
  if (root === "/" || !Deno.statSync(root).isDirectory) {
    throw new UnpackError(
      "invalid_options",
      undefined,
      `target ${targetDir} is not a directory other than /`,
    );
  }
  return root;
}

/**
 * Reads the tar stream `tar` to its end and applies every entry to `targetDir` (which must
 * exist). Contents stream to disk; memory stays bounded by the header limits whatever the
 * layer size. Throws {@link UnpackError} naming the offending entry; see the module doc for
 * what a failure leaves behind.
 *
 * @example
 * ```ts
 * const file = await Deno.open("layer.tar.gz");
 * const tar = file.readable.pipeThrough(new DecompressionStream("gzip"));
 * const stats = await unpackLayer(tar, "/run/layers/3", { mode: "layer" });
 * ```
 */
export async function unpackLayer(
  tar: ReadableStream<Uint8Array>,
  targetDir: string,
  options?: UnpackOptions,
): Promise<UnpackStats> {
  const started = performance.now();
  const opts = resolveOptions(options);
  const input = new ChunkReader(tar);
  let entries = 0;
  let last: string | undefined;
  try {
    const root = canonicalRoot(targetDir);
    Deno.writeFileSync(incompleteMarker(targetDir), new Uint8Array(0));
    const reader = new TarReader(input, opts.limits);
    const writer = new LayerWriter(new Tree(root), opts);
    try {
      // Entries whose header and contents are already buffered go through without an await.
      for (;;) {
        const e = reader.nextBuffered() ?? await reader.next();
        if (e === null) break;
        last = e.path;
        try {
          const pending = writer.apply(e, classify(e.path), reader);
          if (pending) await pending;
        } catch (err) {
          throw asUnpackError(err, e.path);
        }
        entries++;
      }
      writer.finish();
    } finally {
      writer.close();
    }
    Deno.removeSync(incompleteMarker(targetDir));
    input.release();
    return {
      entries,
      bytes: writer.counts.bytes,
      archiveBytes: input.consumed,
      whiteouts: writer.counts.whiteouts,
      xattrsSkipped: writer.counts.xattrsSkipped,
      durationMs: performance.now() - started,
    };
  } catch (err) {
    const error = withPosition(asUnpackError(err, undefined), input.consumed, last);
    await input.cancel(error);
    throw error;
  }
}

/** Wraps filesystem and FFI errors as `apply_failed` for `entry`; keeps UnpackErrors. */
function asUnpackError(err: unknown, entry: string | undefined): UnpackError {
  if (err instanceof UnpackError) {
    if (err.entry !== undefined || entry === undefined) return err;
    return new UnpackError(err.code, entry, err.reason, { cause: err.cause });
  }
  const why = err instanceof Error ? err.message : String(err);
  return new UnpackError("apply_failed", entry, why, { cause: err });
}

/** Errors found in headers (no entry yet) get the stream offset and the previous entry. */
function withPosition(err: UnpackError, offset: number, last: string | undefined): UnpackError {
  if (err.entry !== undefined || err.code === "invalid_options") return err;
  const after = last === undefined
    ? "before the first entry"
    : `after entry ${JSON.stringify(last)}`;
  return new UnpackError(err.code, undefined, `${err.reason} (at byte ${offset}, ${after})`, {
    cause: err.cause,
  });
}
