/**
 * The npm:postgres typing shared by the Postgres backend's files (`postgres.ts`,
 * `postgres_versions.ts`), and the error codes of a harmless `CREATE TABLE IF NOT EXISTS` race.
 *
 * @module
 */
import type postgresModule from "postgres";

/** A connection pool of npm:postgres (a tagged-template function). */
export type Sql = ReturnType<typeof postgresModule>;
/** `sql(name)`: a quoted identifier (a table name). */
export const ident = (sql: Sql, name: string) => sql(name);
/** A quoted identifier built by {@linkcode ident}. */
export type Helper = ReturnType<typeof ident>;
/** A statement built but not sent, nested into another one. */
export type Fragment = postgresModule.PendingQuery<postgresModule.Row[]>;
/** One result row. */
export type Row = postgresModule.Row;

// Codes a racing `CREATE TABLE IF NOT EXISTS` from another replica can raise: 23505 (the pg_type
// index), 42P07 (duplicate table) and 42710 (`type "<table>" already exists`, seen in CI).
const CREATE_RACE = new Set(["23505", "42P07", "42710"]);

/** Whether `err` is what a racing `CREATE TABLE IF NOT EXISTS` raises: the table exists. */
export function isCreateRace(err: unknown): boolean {
  return CREATE_RACE.has((err as { code?: string }).code ?? "");
}
