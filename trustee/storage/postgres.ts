/**
 * PostgreSQL storage (`storage_type = "Postgres"`) over npm:postgres. One table per namespace,
 * named after the namespace, with upstream's columns (`key TEXT PRIMARY KEY, value BYTEA`).
 * Unlike upstream, each table is created on first use (`CREATE TABLE IF NOT EXISTS`), so a fresh
 * database needs no init script.
 *
 * Every statement is a single atomic SQL statement: an upsert for `set`, `ON CONFLICT DO NOTHING`
 * for `set(…, {overwrite: false})` (exactly one concurrent inserter wins, across replicas too),
 * and `DELETE … RETURNING` for `delete`. Connection failures become `io` errors naming the
 * namespace, key and server; a row whose value is NULL is a `corrupt` error naming the key.
 *
 * Change versions ({@linkcode StorageProvider.versions}): for a `versioned` namespace the write
 * statement also bumps its row of the table `kbs_cache_versions (namespace TEXT PRIMARY KEY,
 * version BIGINT)` in a data-modifying CTE, i.e. in the same statement and transaction, and only
 * when a row really changed. Reading the versions is one primary-key lookup. The statements live
 * in `postgres_versions.ts`.
 *
 * @module
 */
import { cachedProvider, type NamespaceBackend } from "./_provider.ts";
import { type Helper, ident, isCreateRace, type Sql } from "./_postgres_sql.ts";
import { StorageError } from "./errors.ts";
import { validateKey } from "./validate.ts";
import type { ProviderOptions, SetResult, StorageProvider } from "./types.ts";
import {
  bumping,
  createVersionsTable,
  parseWithVersions,
  PostgresVersions,
  refuseVersionsTable,
  selectWithVersions,
} from "./postgres_versions.ts";

/** Options of {@linkcode createPostgresStorage}. */
export interface PostgresOptions {
  /** Host name, IP address, or a directory holding the server's unix socket. */
  host: string;
  port: number;
  db: string;
  username: string;
  password?: string;
  /** A `postgres://` URL that replaces the fields above (upstream env `POSTGRES_URL`). */
  url?: string;
  /** Connection pool size (default 5, as upstream). */
  poolSize?: number;
  /** Seconds to wait for a connection before an operation fails (default 5). */
  connectTimeoutSeconds?: number;
}

// PostgreSQL truncates identifiers to 63 bytes; two long namespaces could share a table.
const MAX_IDENTIFIER = 63;

function describe(options: PostgresOptions): string {
  if (options.url) {
    try {
      const u = new URL(options.url);
      return `PostgreSQL ${u.host}${u.pathname}`;
    } catch {
      return "PostgreSQL (POSTGRES_URL)";
    }
  }
  return `PostgreSQL ${options.host}:${options.port}/${options.db}`;
}

class PostgresNamespace implements NamespaceBackend {
  constructor(
    readonly namespace: string,
    private readonly connect: () => Promise<Sql>,
    private readonly server: string,
    private readonly versioned: boolean,
  ) {}

  #fail(action: string, key: string | undefined, cause: unknown): StorageError {
    const what = key === undefined
      ? `namespace ${JSON.stringify(this.namespace)}`
      : `key ${JSON.stringify(key)} in namespace ${JSON.stringify(this.namespace)}`;
    const why = cause instanceof Error ? cause.message : String(cause);
    return new StorageError("io", `Cannot ${action} ${what} (${this.server}): ${why}`, {
      namespace: this.namespace,
      ...(key === undefined ? {} : { key }),
      cause,
    });
  }

  #ready: Promise<Sql> | undefined;

  /** Connects (first use) and creates the namespace's table unless it exists. */
  #table(): Promise<Sql> {
    this.#ready ??= (async () => {
      let sql: Sql;
      try {
        sql = await this.connect();
        if (this.versioned) await createVersionsTable(sql);
        await sql`
          CREATE TABLE IF NOT EXISTS ${sql(this.namespace)} (value BYTEA, key TEXT PRIMARY KEY)
        `;
      } catch (err) {
        // Another replica created the table at the same moment: it exists, which is the goal.
        if (isCreateRace(err)) return await this.connect();
        this.#ready = undefined;
        throw this.#fail("create the table of", undefined, err);
      }
      return sql;
    })();
    return this.#ready;
  }

  async #run<T>(
    action: string,
    key: string | undefined,
    op: (sql: Sql, table: Helper) => Promise<T>,
  ): Promise<T> {
    const sql = await this.#table();
    try {
      return await op(sql, ident(sql, this.namespace));
    } catch (err) {
      throw this.#fail(action, key, err);
    }
  }

  async set(key: string, value: Uint8Array, overwrite: boolean): Promise<SetResult> {
    const v = value.slice();
    const rows = await this.#run("write", key, (sql, t) => {
      const write = overwrite
        ? sql`INSERT INTO ${t} (key, value) VALUES (${key}, ${v})
            ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value RETURNING key`
        : sql`INSERT INTO ${t} (key, value) VALUES (${key}, ${v})
            ON CONFLICT (key) DO NOTHING RETURNING key`;
      return this.versioned ? bumping(sql, this.namespace, write, "key") : write;
    });
    return rows.length === 1 ? "inserted" : "exists";
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const rows = await this.#run(
      "read",
      key,
      (sql, t) => sql`SELECT value FROM ${t} WHERE key = ${key}`,
    );
    if (rows.length === 0) return undefined;
    return this.#value(key, rows[0]!["value"]);
  }

  /** `get(key)` plus the versions of `names` in one statement (versions table must exist). */
  async getWithVersions(
    key: string,
    names: readonly string[],
  ): Promise<{ value: Uint8Array | undefined; versions: string[] }> {
    const rows = await this.#run(
      "read",
      key,
      (sql, t) => selectWithVersions(sql, t, key, names),
    );
    const { present, value, versions } = parseWithVersions(rows[0]!, names);
    return { value: present ? this.#value(key, value) : undefined, versions };
  }

  #value(key: string, value: unknown): Uint8Array {
    if (!(value instanceof Uint8Array)) {
      throw new StorageError(
        "corrupt",
        `Cannot read key ${JSON.stringify(key)} in namespace ${
          JSON.stringify(this.namespace)
        } (${this.server}): the stored value is ${value === null ? "NULL" : "not BYTEA"}`,
        { namespace: this.namespace, key },
      );
    }
    return new Uint8Array(value);
  }

  async list(): Promise<string[]> {
    const rows = await this.#run(
      "list",
      undefined,
      (sql, t) => sql`SELECT key FROM ${t}`,
    );
    return rows.map((r) => String(r["key"]));
  }

  async delete(key: string): Promise<Uint8Array | undefined> {
    const rows = await this.#run(
      "delete",
      key,
      (sql, t) => {
        const del = sql`DELETE FROM ${t} WHERE key = ${key} RETURNING value`;
        return this.versioned ? bumping(sql, this.namespace, del, "value") : del;
      },
    );
    if (rows.length === 0) return undefined;
    return this.#value(key, rows[0]!["value"]);
  }
}

/**
 * Creates PostgreSQL storage. Connections are opened lazily (the first operation) and pooled;
 * `close()` ends the pool.
 *
 * @example
 * ```ts
 * const storage = createPostgresStorage({ host: "db", port: 5432, db: "kbs", username: "kbs" });
 * await storage.namespace("repository").set("default/key/1", new Uint8Array([1]));
 * await storage.close();
 * ```
 */
export function createPostgresStorage(
  options: PostgresOptions,
  providerOptions: ProviderOptions = {},
): StorageProvider {
  const versioned = new Set(providerOptions.versioned ?? []);
  const common = {
    max: options.poolSize ?? 5,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 60,
    onnotice: () => {},
  };
  let sql: Promise<Sql> | undefined;
  // Loaded on first use: the client library costs start-up time when Postgres is not configured.
  const connect = () =>
    sql ??= import("postgres").then(({ default: postgres }) =>
      options.url ? postgres(options.url, common) : postgres({
        ...common,
        host: options.host,
        port: options.port,
        database: options.db,
        username: options.username,
        ...(options.password === undefined ? {} : { password: options.password }),
      })
    );
  const server = describe(options);
  const backends = new Map<string, PostgresNamespace>();
  const provider = cachedProvider("Postgres", (namespace) => {
    if (new TextEncoder().encode(namespace).length > MAX_IDENTIFIER) {
      throw new StorageError(
        "invalid-namespace",
        `Invalid storage namespace ${
          JSON.stringify(namespace)
        }: PostgreSQL table names are limited to ${MAX_IDENTIFIER} bytes`,
        { namespace },
      );
    }
    refuseVersionsTable(namespace);
    const backend = new PostgresNamespace(namespace, connect, server, versioned.has(namespace));
    backends.set(namespace, backend);
    return backend;
  });
  const versions = new PostgresVersions(connect, server);
  return {
    namespace: (name) => provider.namespace(name),
    async getWithVersions(name: string, key: string, namespaces: readonly string[]) {
      provider.namespace(name);
      validateKey(name, key);
      await versions.ensureFor(name, key);
      return await backends.get(name)!.getWithVersions(key, namespaces);
    },
    versions: (namespaces: readonly string[]) => versions.read(namespaces),
    async close() {
      await provider.close();
      if (sql) await (await sql).end({ timeout: 5 });
    },
  };
}
