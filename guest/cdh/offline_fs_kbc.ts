/**
 * `offline_fs_kbc` (spec/guest.md §3.4): resources from JSON maps
 * `{"<repo>/<type>/<tag>": "<std base64>"}`. Missing files are ignored; malformed JSON or base64 is
 * an error; later files overwrite earlier keys. Files are read on each call, as upstream builds a
 * new client per call.
 */
import { obj, str } from "@coco/lib/json/fields";
import type { ResourceUri } from "@coco/lib/kbs";
import { KbcError } from "./passport_kbc.ts";

/** Upstream's default files. */
export const OFFLINE_FS_KBC_FILES = [
  "/etc/aa-offline_fs_kbc-keys.json",
  "/etc/aa-offline_fs_kbc-resources.json",
] as const;

/** Default files plus env `OFFLINE_FS_KBC_EXTRA_FILE_PATH` (comma separated). */
export function offlineFsKbcFiles(
  env: { get(k: string): string | undefined } = Deno.env,
): string[] {
  const extra = (env.get("OFFLINE_FS_KBC_EXTRA_FILE_PATH") ?? "").split(",").filter((p) =>
    p !== ""
  );
  return [...OFFLINE_FS_KBC_FILES, ...extra];
}

async function readMap(file: string, into: Map<string, Uint8Array>): Promise<void> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  try {
    const o = obj(JSON.parse(text), file);
    for (const [k, v] of Object.entries(o)) {
      into.set(k, Uint8Array.fromBase64(str(v, `${file}: ${k}`)));
    }
  } catch (err) {
    throw new KbcError("http", `Cannot load offline KBC file ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** The offline file-system KBC. */
export class OfflineFsKbc {
  readonly #files: readonly string[];

  constructor(files: readonly string[] = offlineFsKbcFiles()) {
    this.#files = files;
  }

  /** Looks up `uri`'s segments joined by `/`. */
  async getResource(uri: ResourceUri): Promise<Uint8Array> {
    const map = new Map<string, Uint8Array>();
    for (const f of this.#files) await readMap(f, map);
    const key = uri.path.join("/");
    const value = map.get(key);
    if (!value) {
      throw new KbcError("not-found", `resource ${key} not found in ${this.#files.join(", ")}`);
    }
    return value;
  }

  close(): void {}
}
