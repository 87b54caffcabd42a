import { cachedProvider, type NamespaceBackend } from "./_provider.ts";
import type { SetResult, StorageProvider } from "./types.ts";

class MemoryNamespace implements NamespaceBackend {
  readonly #values = new Map<string, Uint8Array>();

  set(key: string, value: Uint8Array, overwrite: boolean): Promise<SetResult> {
    if (!overwrite && this.#values.has(key)) return Promise.resolve("exists");
    this.#values.set(key, value.slice());
    return Promise.resolve("inserted");
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.#values.get(key)?.slice());
  }

  list(): Promise<string[]> {
    return Promise.resolve([...this.#values.keys()]);
  }

  delete(key: string): Promise<Uint8Array | undefined> {
    const old = this.#values.get(key);
    this.#values.delete(key);
    return Promise.resolve(old);
  }
}

/**
 * In-process storage (`storage_type = "Memory"`): one map per namespace, lost on restart.
 * Values are copied on the way in and out, so callers never share buffers with the store.
 */
export function createMemoryStorage(): StorageProvider {
  return cachedProvider("Memory", () => new MemoryNamespace());
}
