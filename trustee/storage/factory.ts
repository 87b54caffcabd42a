import type { StorageConfig } from "./config.ts";
import { StorageError } from "./errors.ts";
import { createLocalFsStorage } from "./local_fs.ts";
import { createLocalJsonStorage } from "./local_json.ts";
import { createMemoryStorage } from "./memory.ts";
import type { StorageProvider } from "./types.ts";

/**
 * Creates the storage backend a {@linkcode StorageConfig} selects. Postgres and Redis parse but
 * are not implemented yet: they throw a `config` {@linkcode StorageError}.
 */
export function createStorage(config: StorageConfig): StorageProvider {
  switch (config.type) {
    case "Memory":
      return createMemoryStorage();
    case "LocalFs":
      return createLocalFsStorage({ dirPath: config.dirPath });
    case "LocalJson":
      return createLocalJsonStorage({ fileDirPath: config.fileDirPath });
    case "Postgres":
    case "Redis":
      throw new StorageError(
        "config",
        `Cannot create storage: storage_type ${config.type} is not available yet in this build (use Memory, LocalFs or LocalJson)`,
      );
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
