/** File helpers shared by the LocalFs and LocalJson backends. */
import { StorageError } from "./errors.ts";

/**
 * Marker of temporary files. `~` is outside the key alphabet, so a temporary file name can never
 * be the file name of a key, and listings skip it.
 */
export const TEMP_MARK = "~tmp-";

/** Writes `bytes` to a new uniquely named file in `dir`, fsyncs it, and returns its path. */
export async function writeTempFile(
  dir: string,
  prefix: string,
  bytes: Uint8Array,
): Promise<string> {
  const path = `${dir}/${prefix}${TEMP_MARK}${crypto.randomUUID()}`;
  const file = await Deno.open(path, { createNew: true, write: true, mode: 0o600 });
  try {
    let offset = 0;
    while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    await file.sync();
  } catch (err) {
    file.close();
    await removeQuietly(path);
    throw err;
  }
  file.close();
  return path;
}

/** Fsyncs a directory so a rename or link in it survives a power loss (best effort). */
export async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await Deno.open(dir, { read: true });
    try {
      await handle.sync();
    } finally {
      handle.close();
    }
  } catch {
    // Some platforms cannot open or fsync directories; the data file itself is already synced.
  }
}

/** Removes a file, ignoring every error (used for temporary files on failure paths). */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // already gone or not removable: nothing more to do
  }
}

/** Wraps a file-system failure into a {@linkcode StorageError} with code `io`. */
export function ioError(
  action: string,
  path: string,
  ctx: { namespace: string; key?: string },
  cause: unknown,
): StorageError {
  const what = ctx.key === undefined
    ? `namespace ${JSON.stringify(ctx.namespace)}`
    : `key ${JSON.stringify(ctx.key)} in namespace ${JSON.stringify(ctx.namespace)}`;
  const why = cause instanceof Error ? cause.message : String(cause);
  return new StorageError("io", `Cannot ${action} ${what} (${path}): ${why}`, { ...ctx, cause });
}
