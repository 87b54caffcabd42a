import { StorageError } from "./errors.ts";
import type { KvStore, SetResult, StorageProvider } from "./types.ts";
import { validateKey, validateNamespace } from "./validate.ts";

/** What a backend implements per namespace; keys arrive already validated. */
export interface NamespaceBackend {
  set(key: string, value: Uint8Array, overwrite: boolean): Promise<SetResult>;
  get(key: string): Promise<Uint8Array | undefined>;
  list(): Promise<string[]>;
  delete(key: string): Promise<Uint8Array | undefined>;
  /** Resolves once every write started before the call has finished. */
  flush?(): Promise<void>;
}

class ValidatedStore implements KvStore {
  constructor(readonly namespace: string, private readonly inner: NamespaceBackend) {}

  async set(key: string, value: Uint8Array, opts: { overwrite?: boolean } = {}) {
    validateKey(this.namespace, key);
    return await this.inner.set(key, value, opts.overwrite ?? true);
  }

  async get(key: string) {
    validateKey(this.namespace, key);
    return await this.inner.get(key);
  }

  async list() {
    return await this.inner.list();
  }

  async delete(key: string) {
    validateKey(this.namespace, key);
    return await this.inner.delete(key);
  }
}

/**
 * Builds a {@linkcode StorageProvider} from a per-namespace backend factory: validates namespace
 * names and keys, caches one store per namespace, and flushes every backend on `close()`.
 */
export function cachedProvider(
  backendName: string,
  make: (namespace: string) => NamespaceBackend,
): StorageProvider {
  const backends = new Map<string, NamespaceBackend>();
  const stores = new Map<string, KvStore>();
  let closed = false;
  return {
    namespace(name: string): KvStore {
      if (closed) {
        throw new StorageError(
          "io",
          `Cannot open namespace ${JSON.stringify(name)}: the ${backendName} storage is closed`,
          {
            namespace: name,
          },
        );
      }
      const cached = stores.get(name);
      if (cached) return cached;
      validateNamespace(name);
      const backend = make(name);
      const store = new ValidatedStore(name, backend);
      backends.set(name, backend);
      stores.set(name, store);
      return store;
    },
    async close(): Promise<void> {
      closed = true;
      await Promise.all([...backends.values()].map((b) => b.flush?.()));
    },
  };
}
