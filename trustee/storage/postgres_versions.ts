/**
 * Change versions of the Postgres backend (`StorageProvider.versions` in `types.ts`; README
 * "Caching"): the table `kbs_cache_versions (namespace TEXT PRIMARY KEY, version BIGINT)`, the
 * data-modifying CTE that bumps a namespace's row in the same statement (and transaction) as a
 * write, only when a row really changed, the combined value + versions read, and the versions
 * read (one primary-key lookup).
 *
 * @module
 */
import { StorageError } from "./errors.ts";
import { type Fragment, type Helper, isCreateRace, type Row, type Sql } from "./_postgres_sql.ts";

/** The table of change versions; refused as a namespace name. */
export const VERSIONS_TABLE = "kbs_cache_versions";

/** Creates the versions table unless it exists (a creation race with another replica is fine). */
export async function createVersionsTable(sql: Sql): Promise<void> {
  try {
    await sql`CREATE TABLE IF NOT EXISTS ${
      sql(VERSIONS_TABLE)
    } (namespace TEXT PRIMARY KEY, version BIGINT NOT NULL)`;
  } catch (err) {
    if (!isCreateRace(err)) throw err;
  }
}

/** Throws an `invalid-namespace` error when `namespace` is the versions table. */
export function refuseVersionsTable(namespace: string): void {
  if (namespace === VERSIONS_TABLE) {
    throw new StorageError(
      "invalid-namespace",
      `Invalid storage namespace ${
        JSON.stringify(namespace)
      }: the Postgres backend keeps its change versions in that table`,
      { namespace },
    );
  }
}

/**
 * `change` (a fragment `… RETURNING <column>`) plus a bump of `namespace`'s version for each
 * row it returned (0 or 1), in one statement: the version moves if and only if the data did.
 */
export function bumping(sql: Sql, namespace: string, change: Fragment, column: "key" | "value") {
  const v = sql(VERSIONS_TABLE);
  return sql`WITH w AS (${change}), b AS (
        INSERT INTO ${v} (namespace, version) SELECT ${namespace}::text, 1 FROM w
        ON CONFLICT (namespace) DO UPDATE SET version = ${v}.version + 1
      ) SELECT ${sql(column)} FROM w`;
}

/**
 * One statement returning one row `(value, present, versions)`: the value of `key` in the table
 * `t` (`present` is true when the key exists) and the versions of `names` as a JSON object.
 */
export function selectWithVersions(
  sql: Sql,
  t: Helper,
  key: string,
  names: readonly string[],
): Fragment {
  return sql`SELECT d.value, d.present, v.versions FROM (
          SELECT json_object_agg(namespace, version::text) AS versions FROM ${sql(VERSIONS_TABLE)}
          WHERE namespace = ANY(${[...names]}::text[])
        ) v LEFT JOIN (SELECT value, true AS present FROM ${t} WHERE key = ${key}) d ON true`;
}

/**
 * Reads the row of {@linkcode selectWithVersions}: whether the key is present, its raw value
 * (checked by the caller) and the versions of `names` (`"0"` for a namespace never bumped).
 */
export function parseWithVersions(
  row: Row,
  names: readonly string[],
): { present: boolean; value: unknown; versions: string[] } {
  let found: unknown = row["versions"] ?? {};
  if (typeof found === "string") found = JSON.parse(found);
  const map = found as Record<string, unknown>;
  return {
    present: row["present"] === true,
    value: row["value"],
    versions: names.map((n) => typeof map[n] === "string" ? map[n] as string : "0"),
  };
}

/** The provider-wide side of the versions: creates the table once and reads versions. */
export class PostgresVersions {
  #ready: Promise<Sql> | undefined;

  constructor(private readonly connect: () => Promise<Sql>, private readonly server: string) {}

  /** Creates the versions table (once; retried after a failure). */
  #table(): Promise<Sql> {
    return this.#ready ??= this.connect().then(async (sql) => {
      await createVersionsTable(sql);
      return sql;
    }).catch((err) => {
      this.#ready = undefined;
      throw err;
    });
  }

  /** Ensures the table exists before reading `key` of `name` with the versions (`io` error). */
  async ensureFor(name: string, key: string): Promise<void> {
    try {
      await this.#table();
    } catch (err) {
      throw new StorageError(
        "io",
        `Cannot read key ${JSON.stringify(key)} in namespace ${
          JSON.stringify(name)
        } (${this.server}): ${err instanceof Error ? err.message : String(err)}`,
        { namespace: name, key, cause: err },
      );
    }
  }

  /** `StorageProvider.versions`: one primary-key lookup. */
  async read(namespaces: readonly string[]): Promise<string[]> {
    try {
      const sql = await this.#table();
      const rows = await sql`SELECT namespace, version FROM ${sql(VERSIONS_TABLE)}
          WHERE namespace = ANY(${[...namespaces]}::text[])`;
      const found = new Map(rows.map((r) => [String(r["namespace"]), String(r["version"])]));
      return namespaces.map((n) => found.get(n) ?? "0");
    } catch (err) {
      throw new StorageError(
        "io",
        `Cannot read the change versions of ${namespaces.join(", ")} (${this.server}): ${
          err instanceof Error ? err.message : String(err)
        }`,
        { namespace: namespaces.join(","), cause: err },
      );
    }
  }
}
