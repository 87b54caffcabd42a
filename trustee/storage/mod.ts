/**
 * Key-value storage with namespaces, as upstream's `key-value-storage` crate: resources,
 * policies, sessions and reference values all live in a {@linkcode KvStore} handed out by a
 * {@linkcode StorageProvider}. Backends: Memory, LocalFs and LocalJson (on-disk compatible with
 * upstream), Postgres and Redis (upstream layouts), and the Vault KV v1 resource store. A new
 * backend must pass the shared suite in `conformance.ts` (imported directly by tests; it is not
 * part of this surface).
 *
 * @example
 * ```ts
 * import { createStorage, parseStorageConfig } from "./mod.ts";
 *
 * const storage = createStorage(parseStorageConfig(toml.storage_backend, "kbs.toml"));
 * const repo = storage.namespace("repository");
 * await repo.set("default/key/1", new TextEncoder().encode("secret"));
 * await storage.close();
 * ```
 *
 * @module
 */
export type { KvStore, ProviderOptions, SetOptions, SetResult, StorageProvider } from "./types.ts";
export { StorageError, type StorageErrorCode, type StorageErrorContext } from "./errors.ts";
export { validateKey, validateNamespace } from "./validate.ts";
export {
  DEFAULT_LOCAL_FS_DIR,
  DEFAULT_LOCAL_JSON_DIR,
  parseStorageConfig,
  type StorageConfig,
  type StorageType,
} from "./config.ts";
export { createStorage } from "./factory.ts";
export { createMemoryStorage } from "./memory.ts";
export {
  createLocalFsStorage,
  decodeKeyFileName,
  encodeKeyFileName,
  type LocalFsOptions,
} from "./local_fs.ts";
export { createLocalJsonStorage, type LocalJsonOptions } from "./local_json.ts";
export { createPostgresStorage, type PostgresOptions } from "./postgres.ts";
export { createRedisStorage, type RedisOptions } from "./redis.ts";
export { createVaultStorage, type VaultOptions, vaultResourceStore } from "./vault.ts";
export { cachedStore } from "./cached.ts";
export { syncingStore, VersionClock, versionedStore } from "./versioned_cache.ts";
export { type EnvLookup } from "./factory.ts";
