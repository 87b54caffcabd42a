/**
 * LocalJson storage (`storage_type = "LocalJson"`), on-disk compatible with upstream: one JSON
 * file `<file_dir_path>/<namespace>` (no extension) holding `{ "<key>": "<base64url WITH padding>" }`.
 *
 * Every write rewrites the whole file atomically (temporary file, fsync, rename); writes to one
 * namespace are serialized inside the process. Reads parse the file each time, so a file edited
 * by hand is picked up. Not meant for large data sets.
 *
 * @module
 */
import { cachedProvider, type NamespaceBackend } from "./_provider.ts";
import { ioError, removeQuietly, syncDir, writeTempFile } from "./_fs.ts";
import { StorageError } from "./errors.ts";
import type { SetResult, StorageProvider } from "./types.ts";

/** Options of {@linkcode createLocalJsonStorage}. */
export interface LocalJsonOptions {
  /** Directory of the namespace files (`storage_backend.backends.local_json.file_dir_path`). */
  fileDirPath: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

class LocalJsonNamespace implements NamespaceBackend {
  readonly #file: string;
  readonly #dir: string;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(readonly namespace: string, root: string) {
    this.#file = `${root}/${namespace}`;
    this.#dir = this.#file.slice(0, this.#file.lastIndexOf("/")) || "/";
  }

  #corrupt(why: string, cause?: unknown): StorageError {
    return new StorageError(
      "corrupt",
      `Cannot read namespace ${JSON.stringify(this.namespace)}: ${this.#file} is corrupt: ${why}`,
      { namespace: this.namespace, cause },
    );
  }

  async #read(): Promise<Map<string, Uint8Array>> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(this.#file);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return new Map();
      throw ioError("read", this.#file, { namespace: this.namespace }, err);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(bytes));
    } catch (err) {
      throw this.#corrupt("not valid UTF-8 JSON", err);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw this.#corrupt("the top level is not a JSON object");
    }
    const map = new Map<string, Uint8Array>();
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== "string") {
        throw this.#corrupt(`the value of ${JSON.stringify(key)} is not a string`);
      }
      try {
        map.set(key, Uint8Array.fromBase64(value, { alphabet: "base64url" }));
      } catch (err) {
        throw this.#corrupt(`the value of ${JSON.stringify(key)} is not base64url`, err);
      }
    }
    return map;
  }

  async #write(map: Map<string, Uint8Array>, key: string): Promise<void> {
    // fromEntries defines own properties, so a key named `__proto__` stays a plain entry.
    const obj = Object.fromEntries(
      [...map].map(([k, v]) => [k, v.toBase64({ alphabet: "base64url" })]),
    );
    const ctx = { namespace: this.namespace, key };
    let temp: string | undefined;
    try {
      await Deno.mkdir(this.#dir, { recursive: true });
      const name = this.#file.slice(this.#dir.length + 1);
      temp = await writeTempFile(this.#dir, `.${name}.`, encoder.encode(JSON.stringify(obj)));
      await Deno.rename(temp, this.#file);
    } catch (err) {
      if (temp !== undefined) await removeQuietly(temp);
      throw ioError("write", this.#file, ctx, err);
    }
    await syncDir(this.#dir);
  }

  /** Runs `task` after every earlier write of this namespace (read-modify-write under a lock). */
  #serialized<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  set(key: string, value: Uint8Array, overwrite: boolean): Promise<SetResult> {
    const copy = value.slice();
    return this.#serialized(async () => {
      const map = await this.#read();
      if (!overwrite && map.has(key)) return "exists";
      map.set(key, copy);
      await this.#write(map, key);
      return "inserted";
    });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.#read()).get(key);
  }

  async list(): Promise<string[]> {
    return [...(await this.#read()).keys()];
  }

  delete(key: string): Promise<Uint8Array | undefined> {
    return this.#serialized(async () => {
      const map = await this.#read();
      const old = map.get(key);
      if (old === undefined) return undefined;
      map.delete(key);
      await this.#write(map, key);
      return old;
    });
  }

  async flush(): Promise<void> {
    await this.#queue;
  }
}

/**
 * Creates LocalJson storage keeping one JSON file per namespace in `fileDirPath`.
 * A corrupt file makes operations on its namespace fail with a `corrupt` {@linkcode StorageError}.
 */
export function createLocalJsonStorage(options: LocalJsonOptions): StorageProvider {
  const root = options.fileDirPath.replace(/\/+$/, "") || "/";
  return cachedProvider("LocalJson", (namespace) => new LocalJsonNamespace(namespace, root));
}
