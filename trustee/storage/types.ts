/**
 * The key-value storage contract shared by every backend (upstream crate `key-value-storage`).
 *
 * @module
 */

/** Options of {@linkcode KvStore.set}. */
export interface SetOptions {
  /** Replace an existing value (default `true`). With `false` an existing key is left unchanged. */
  overwrite?: boolean;
}

/** Outcome of {@linkcode KvStore.set}: `"exists"` only when `overwrite` was `false`. */
export type SetResult = "inserted" | "exists";

/** One namespace of a storage provider: a map from validated keys to byte strings. */
export interface KvStore {
  /** The namespace this store belongs to. */
  readonly namespace: string;
  /** Stores `value` under `key`; with `overwrite: false` an existing value wins and `"exists"` is returned. */
  set(key: string, value: Uint8Array, opts?: SetOptions): Promise<SetResult>;
  /** Returns a copy of the value stored under `key`, or `undefined`. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Lists every key of the namespace (order unspecified). */
  list(): Promise<string[]>;
  /** Removes `key` and returns the value it had, or `undefined` when it was absent. */
  delete(key: string): Promise<Uint8Array | undefined>;
}

/** A storage backend handing out one cached {@linkcode KvStore} per namespace. */
export interface StorageProvider {
  /** Returns the store of `name` (the same instance on every call); throws `invalid-namespace`. */
  namespace(name: string): KvStore;
  /** Waits for pending writes and releases resources. */
  close(): Promise<void>;
}
