import type { StorageConfig } from "./config.ts";
import { StorageError } from "./errors.ts";
import { createLocalFsStorage } from "./local_fs.ts";
import { createLocalJsonStorage } from "./local_json.ts";
import { createMemoryStorage } from "./memory.ts";
import { createPostgresStorage } from "./postgres.ts";
import { createRedisStorage } from "./redis.ts";
import type { ProviderOptions, StorageProvider } from "./types.ts";

/** Reads an environment variable; injected so tests need no env permission. */
export type EnvLookup = (name: string) => string | undefined;

function processEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission: no override
  }
}

/**
 * Creates the storage backend a {@linkcode StorageConfig} selects. As upstream, the environment
 * variables `POSTGRES_URL` and `REDIS_URL` override the configured Postgres and Redis locations.
 * `options.versioned` names the namespaces whose changes the shared backends version.
 */
export function createStorage(
  config: StorageConfig,
  env: EnvLookup = processEnv,
  options: ProviderOptions = {},
): StorageProvider {
  switch (config.type) {
    case "Memory":
      return createMemoryStorage();
    case "LocalFs":
      return createLocalFsStorage({ dirPath: config.dirPath });
    case "LocalJson":
      return createLocalJsonStorage({ fileDirPath: config.fileDirPath });
    case "Postgres": {
      const url = env("POSTGRES_URL");
      const { type: _, ...pg } = config;
      return createPostgresStorage(url ? { ...pg, url } : pg, options);
    }
    case "Redis":
      return createRedisStorage({ url: env("REDIS_URL") || config.url }, options);
    default:
      return unreachable(config);
  }
}

function unreachable(config: never): never {
  throw new StorageError(
    "config",
    `Cannot create storage: unknown storage_type in ${JSON.stringify(config)}`,
  );
}
