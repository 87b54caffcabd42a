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
  /**
   * Only on storage other processes share (Postgres, Redis): the current change versions of
   * `namespaces` (one round trip, `"0"` before the first change), in the same order. Every write
   * or delete that changed a namespace listed in {@linkcode ProviderOptions.versioned} bumps its
   * version in the same atomic operation, so a version read after a write returned reflects it.
   */
  versions?(namespaces: readonly string[]): Promise<string[]>;
  /**
   * Only on shared storage: `namespace(name).get(key)` and `versions(namespaces)` in one round
   * trip (one statement or script, so the versions are read after the call began).
   */
  getWithVersions?(
    name: string,
    key: string,
    namespaces: readonly string[],
  ): Promise<{ value: Uint8Array | undefined; versions: string[] }>;
  /** Waits for pending writes and releases resources. */
  close(): Promise<void>;
}

/** Options every backend factory accepts. */
export interface ProviderOptions {
  /**
   * Namespaces whose writes bump a change version ({@linkcode StorageProvider.versions}) on
   * shared backends, for caches that must see other replicas' writes. Ignored by local backends.
   */
  versioned?: readonly string[];
}
