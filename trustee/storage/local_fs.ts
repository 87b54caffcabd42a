/**
 * LocalFs storage (`storage_type = "LocalFs"`), on-disk compatible with upstream: directory
 * `<dir_path>/<namespace>/`, one file per key, file name = key with every `/` replaced by the
 * literal four characters `\x2F`, content = the raw value bytes.
 *
 * Writes are atomic: the value goes to a temporary file in the same directory, is fsynced, and
 * then appears under its final name in one step, so a reader (or a crash) never sees half a value.
 *
 * @module
 */
import { cachedProvider, type NamespaceBackend } from "./_provider.ts";
import { ioError, removeQuietly, syncDir, TEMP_MARK, writeTempFile } from "./_fs.ts";
import type { SetResult, StorageProvider } from "./types.ts";
import { validateKey } from "./validate.ts";

const SLASH = "\\x2F";
const ENCODED_NAME = /^(?:[A-Za-z0-9_.-]|\\x2F)+$/;

/** File name of `key` in the upstream layout (`a/b` → `a\x2Fb`). */
export function encodeKeyFileName(key: string): string {
  return key.replaceAll("/", SLASH);
}

/** Key of an upstream-layout file name, or `undefined` for names no key maps to (temp files). */
export function decodeKeyFileName(name: string): string | undefined {
  if (!ENCODED_NAME.test(name)) return undefined;
  const key = name.replaceAll(SLASH, "/");
  try {
    validateKey("", key);
  } catch {
    return undefined;
  }
  return key;
}

/** Options of {@linkcode createLocalFsStorage}. */
export interface LocalFsOptions {
  /** Root directory (`storage_backend.backends.local_fs.dir_path`). */
  dirPath: string;
}

class LocalFsNamespace implements NamespaceBackend {
  readonly #dir: string;
  #ready: Promise<void> | undefined;

  constructor(readonly namespace: string, root: string) {
    this.#dir = `${root}/${namespace}`;
  }

  #ensureDir(): Promise<void> {
    this.#ready ??= Deno.mkdir(this.#dir, { recursive: true }).catch((err) => {
      this.#ready = undefined;
      throw ioError("create the directory of", this.#dir, { namespace: this.namespace }, err);
    });
    return this.#ready;
  }

  #path(key: string): string {
    return `${this.#dir}/${encodeKeyFileName(key)}`;
  }

  async set(key: string, value: Uint8Array, overwrite: boolean): Promise<SetResult> {
    await this.#ensureDir();
    const path = this.#path(key);
    const ctx = { namespace: this.namespace, key };
    let temp: string;
    try {
      temp = await writeTempFile(this.#dir, "", value);
    } catch (err) {
      throw ioError("write", path, ctx, err);
    }
    try {
      if (overwrite) {
        // rename(2) replaces the target atomically: readers see the old or the new file.
        await Deno.rename(temp, path);
      } else {
        // link(2) fails with EEXIST when the name exists, atomically, so two racing
        // `overwrite: false` writers cannot both win, and the value is complete (written and
        // fsynced) before its name appears. A check-then-rename would race.
        await Deno.link(temp, path);
        await Deno.remove(temp);
      }
    } catch (err) {
      await removeQuietly(temp);
      if (!overwrite && err instanceof Deno.errors.AlreadyExists) return "exists";
      throw ioError("write", path, ctx, err);
    }
    await syncDir(this.#dir);
    return "inserted";
  }

  get(key: string): Promise<Uint8Array | undefined> {
    const path = this.#path(key);
    try {
      // Synchronous on purpose: values are small local files, and a thread-pool hop for an
      // async read costs many times the read itself (measured ~190 µs vs ~9 µs under load).
      return Promise.resolve(Deno.readFileSync(path));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return Promise.resolve(undefined);
      return Promise.reject(ioError("read", path, { namespace: this.namespace, key }, err));
    }
  }

  async list(): Promise<string[]> {
    const keys: string[] = [];
    try {
      for await (const entry of Deno.readDir(this.#dir)) {
        if (!entry.isFile || entry.name.includes(TEMP_MARK)) continue;
        const key = decodeKeyFileName(entry.name);
        if (key !== undefined) keys.push(key);
      }
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw ioError("list", this.#dir, { namespace: this.namespace }, err);
    }
    return keys;
  }

  async delete(key: string): Promise<Uint8Array | undefined> {
    const path = this.#path(key);
    const ctx = { namespace: this.namespace, key };
    // Claim the current file by renaming it away first: the bytes returned are exactly the
    // ones removed, even when a writer replaces the key concurrently.
    const claimed = `${this.#dir}/${TEMP_MARK}${crypto.randomUUID()}`;
    try {
      await Deno.rename(path, claimed);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw ioError("delete", path, ctx, err);
    }
    try {
      return await Deno.readFile(claimed);
    } catch (err) {
      throw ioError("delete", path, ctx, err);
    } finally {
      await removeQuietly(claimed);
      await syncDir(this.#dir);
    }
  }
}

/**
 * Creates LocalFs storage rooted at `dirPath`; a namespace directory is created on its first use.
 *
 * @example
 * ```ts
 * const storage = createLocalFsStorage({ dirPath: "/var/lib/kbs" });
 * await storage.namespace("repository").set("default/key/1", new Uint8Array([1]));
 * ```
 */
export function createLocalFsStorage(options: LocalFsOptions): StorageProvider {
  const root = options.dirPath.replace(/\/+$/, "") || "/";
  return cachedProvider("LocalFs", (namespace) => new LocalFsNamespace(namespace, root));
}
