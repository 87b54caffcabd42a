/**
 * Caches for policies and reference values on storage several replicas share, correct across
 * replicas: every cached entry is tagged with the namespace's change version (see
 * {@linkcode StorageProvider.versions}) read *before* the entry was fetched, and is served only
 * while {@linkcode VersionClock.sync} keeps returning that version.
 *
 * Guarantee: a request that calls `sync()` after a write (through any replica) returned reads
 * the written data. `sync()` always waits for a version read that was *sent after it was
 * called*; the write bumped the version in the same atomic operation before it returned, so that
 * read sees the new version and every entry cached under an older one is refetched. Concurrent
 * callers share reads (at most one in flight and one queued), so under load one round trip serves
 * many requests. A request whose first storage operation is a read in the same shared store
 * (an RCAR session) can get the versions with it instead ({@linkcode syncingStore}): no extra
 * round trip at all.
 *
 * @module
 */
import type { KvStore, SetOptions, SetResult, StorageProvider } from "./types.ts";

/** The change versions of a fixed set of namespaces, as of the last completed `sync()`. */
export class VersionClock {
  readonly #read: (namespaces: readonly string[]) => Promise<string[]>;
  readonly #namespaces: readonly string[];
  readonly #current = new Map<string, string>();
  /** A read already sent: callers arriving now cannot use it (it may predate their write). */
  #running: Promise<void> | undefined;
  /** A read queued behind `#running`, not sent yet: any caller may join it. */
  #queued: Promise<void> | undefined;
  /** Completed version reads (for tests and metrics). */
  reads = 0;

  constructor(provider: Pick<StorageProvider, "versions">, namespaces: readonly string[]) {
    if (!provider.versions) throw new TypeError("this storage has no change versions");
    const versions = provider.versions.bind(provider);
    this.#read = versions;
    this.#namespaces = [...namespaces];
  }

  /** The namespaces this clock follows, in the order `observe()` expects their versions. */
  get namespaces(): readonly string[] {
    return this.#namespaces;
  }

  /**
   * Takes versions (in {@linkcode namespaces} order) from a read that was sent after the caller
   * began, as `sync()` would. Versions only move forward: a slower, older read finishing late
   * cannot bring back entries an already observed write made stale.
   */
  observe(versions: readonly string[]): void {
    this.#namespaces.forEach((n, i) => {
      const next = versions[i]!;
      const cur = this.#current.get(n);
      if (cur === undefined || BigInt(next) > BigInt(cur)) this.#current.set(n, next);
    });
  }

  /** The version of `namespace` as of the last `sync()`, or undefined before the first one. */
  version(namespace: string): string | undefined {
    return this.#current.get(namespace);
  }

  /** Resolves once a version read sent after this call has completed. */
  sync(): Promise<void> {
    if (this.#queued) return this.#queued;
    if (!this.#running) return this.#running = this.#start();
    const queued = this.#running.catch(() => {}).then(() => {
      this.#queued = undefined;
      return this.#running = this.#start();
    });
    return this.#queued = queued;
  }

  async #start(): Promise<void> {
    try {
      this.observe(await this.#read(this.#namespaces));
      this.reads++;
    } finally {
      this.#running = undefined;
    }
  }
}

interface Entry<T> {
  value: T;
  version: string;
}

/**
 * Wraps `inner` (a namespace listed in the clock) with a cache keyed on the clock's versions.
 * Before the clock's first `sync()` nothing is cached. Writes through the wrapper drop the cache.
 */
export function versionedStore(inner: KvStore, clock: VersionClock): KvStore {
  const ns = inner.namespace;
  let values = new Map<string, Entry<Uint8Array | undefined>>();
  let keys: Entry<string[]> | undefined;
  const drop = () => {
    values = new Map();
    keys = undefined;
  };
  return {
    namespace: ns,
    async get(key: string) {
      const version = clock.version(ns);
      const hit = values.get(key);
      if (hit && hit.version === version) return hit.value?.slice();
      const value = await inner.get(key);
      if (version !== undefined) {
        if (values.size >= 4096) values.clear();
        values.set(key, { value: value?.slice(), version });
      }
      return value;
    },
    async list() {
      const version = clock.version(ns);
      if (keys && keys.version === version) return [...keys.value];
      const listed = await inner.list();
      if (version !== undefined) keys = { value: [...listed], version };
      return listed;
    },
    async set(key: string, value: Uint8Array, opts?: SetOptions): Promise<SetResult> {
      try {
        return await inner.set(key, value, opts);
      } finally {
        drop();
      }
    },
    async delete(key: string) {
      try {
        return await inner.delete(key);
      } finally {
        drop();
      }
    },
  };
}

/**
 * Wraps `inner` (a namespace of `provider` that is not cached, e.g. sessions) so that every `get`
 * also reads the clock's versions in the same round trip and hands them to `clock.observe()`:
 * after awaiting such a `get`, the caller is synced as after `clock.sync()`. Other operations
 * pass through. Needs {@linkcode StorageProvider.getWithVersions}.
 */
export function syncingStore(
  inner: KvStore,
  provider: Pick<StorageProvider, "getWithVersions">,
  clock: VersionClock,
): KvStore {
  const read = provider.getWithVersions?.bind(provider);
  if (!read) throw new TypeError("this storage cannot read versions along with a value");
  return {
    namespace: inner.namespace,
    async get(key: string) {
      const { value, versions } = await read(inner.namespace, key, clock.namespaces);
      clock.observe(versions);
      return value;
    },
    list: () => inner.list(),
    set: (key, value, opts) => inner.set(key, value, opts),
    delete: (key) => inner.delete(key),
  };
}
