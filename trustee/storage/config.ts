/**
 * Parser of the upstream `[storage_backend]` table into a {@linkcode StorageConfig}.
 *
 * @module
 */
import { StorageError } from "./errors.ts";

/** Default `storage_backend.backends.local_fs.dir_path`. */
export const DEFAULT_LOCAL_FS_DIR = "/opt/confidential-containers/storage/local_fs";
/** Default `storage_backend.backends.local_json.file_dir_path`. */
export const DEFAULT_LOCAL_JSON_DIR = "/opt/confidential-containers/storage/local_json";

/** A resolved storage configuration, discriminated by `type` (upstream `storage_type`). */
export type StorageConfig =
  | { type: "Memory" }
  | { type: "LocalFs"; dirPath: string }
  | { type: "LocalJson"; fileDirPath: string }
  | {
    type: "Postgres";
    host: string;
    port: number;
    db: string;
    username: string;
    password?: string;
    /** Connection pool size (`pool_size`, an extension; default 5 as upstream). */
    poolSize?: number;
  }
  | { type: "Redis"; url: string };

/** The storage types, as spelled in upstream config (`storage_type`). */
export type StorageType = StorageConfig["type"];

const ALIASES: ReadonlyMap<string, StorageType> = new Map(Object.entries(
  {
    Memory: "Memory",
    memory: "Memory",
    LocalFs: "LocalFs",
    local_fs: "LocalFs",
    LocalJson: "LocalJson",
    local_json: "LocalJson",
    Postgres: "Postgres",
    postgres: "Postgres",
    Redis: "Redis",
    redis: "Redis",
  } satisfies Record<string, StorageType>,
));

type Table = Record<string, unknown>;

class Reader {
  constructor(readonly file: string) {}

  fail(key: string, why: string): never {
    throw new StorageError("config", `Invalid storage config in ${this.file}: ${key}: ${why}`);
  }

  table(value: unknown, key: string, allowed: readonly string[]): Table {
    if (value === undefined) return {};
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.fail(key, "expected a table");
    }
    const table = value as Table;
    for (const name of Object.keys(table)) {
      if (!allowed.includes(name)) {
        this.fail(`${key}.${name}`, `unknown field (expected one of ${allowed.join(", ")})`);
      }
    }
    return table;
  }

  string(table: Table, key: string, name: string, fallback: string): string {
    const value = table[name];
    if (value === undefined) return fallback;
    if (typeof value !== "string" || value === "") {
      this.fail(`${key}.${name}`, "expected a non-empty string");
    }
    return value;
  }

  port(table: Table, key: string, name: string, fallback: number): number {
    const value = table[name];
    if (value === undefined) return fallback;
    if (typeof value === "bigint" && value > 0n && value < 65536n) return Number(value);
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
      this.fail(`${key}.${name}`, "expected a port number (1-65535)");
    }
    return value;
  }
}

/**
 * Parses the `[storage_backend]` table (already decoded from TOML by the caller; `undefined`
 * when absent) into a {@linkcode StorageConfig} with defaults applied. Throws a
 * {@linkcode StorageError} with code `config` naming the key and `file`.
 *
 * @example
 * ```ts
 * parseStorageConfig({ storage_type: "LocalFs" }, "kbs.toml");
 * // { type: "LocalFs", dirPath: "/opt/confidential-containers/storage/local_fs" }
 * ```
 */
export function parseStorageConfig(raw: unknown, file: string): StorageConfig {
  const r: Reader = new Reader(file);
  const top = r.table(raw, "storage_backend", ["storage_type", "backends"]);
  const typeName = top["storage_type"] ?? "Memory";
  if (typeof typeName !== "string") r.fail("storage_backend.storage_type", "expected a string");
  const type = ALIASES.get(typeName);
  if (type === undefined) {
    r.fail(
      "storage_backend.storage_type",
      `unknown storage type ${
        JSON.stringify(typeName)
      } (expected one of Memory, LocalFs, LocalJson, Postgres, Redis)`,
    );
  }
  const backends = r.table(top["backends"], "storage_backend.backends", [
    "local_fs",
    "local_json",
    "postgres",
    "redis",
  ]);
  return resolve(r, type, backends);
}

function resolve(r: Reader, type: StorageType, backends: Table): StorageConfig {
  const base = "storage_backend.backends";
  switch (type) {
    case "Memory":
      return { type };
    case "LocalFs": {
      const t = r.table(backends["local_fs"], `${base}.local_fs`, ["dir_path"]);
      return { type, dirPath: r.string(t, `${base}.local_fs`, "dir_path", DEFAULT_LOCAL_FS_DIR) };
    }
    case "LocalJson": {
      const key = `${base}.local_json`;
      const t = r.table(backends["local_json"], key, ["file_dir_path"]);
      return { type, fileDirPath: r.string(t, key, "file_dir_path", DEFAULT_LOCAL_JSON_DIR) };
    }
    case "Postgres": {
      const key = `${base}.postgres`;
      const t = r.table(backends["postgres"], key, [
        "host",
        "port",
        "db",
        "username",
        "password",
        "pool_size",
      ]);
      const config: StorageConfig = {
        type,
        host: r.string(t, key, "host", "localhost"),
        port: r.port(t, key, "port", 5432),
        db: r.string(t, key, "db", "postgres"),
        username: r.string(t, key, "username", "postgres"),
      };
      if (t["password"] !== undefined) config.password = r.string(t, key, "password", "");
      if (t["pool_size"] !== undefined) config.poolSize = r.port(t, key, "pool_size", 5);
      return config;
    }
    case "Redis": {
      const t = r.table(backends["redis"], `${base}.redis`, ["url"]);
      return { type, url: r.string(t, `${base}.redis`, "url", "redis://127.0.0.1:6379") };
    }
  }
}
