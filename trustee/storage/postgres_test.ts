import assert from "node:assert/strict";
import postgres from "postgres";
import { skipUnless } from "../../tests/peers.ts";
import { storageConformanceSteps } from "./conformance.ts";
import { versionConformanceSteps } from "./versions_conformance.ts";
import { StorageError } from "./errors.ts";
import { createPostgresStorage, type PostgresOptions } from "./postgres.ts";
import { postgresPeers, startPostgres, type TestPostgres } from "./test_servers.ts";

const skip = skipUnless(postgresPeers(), "Postgres storage tests (real PostgreSQL server)");
let databases = 0;

/** A fresh database on `server`, dropped by `drop()`. */
async function freshDatabase(
  server: TestPostgres,
): Promise<{ options: PostgresOptions; drop(): Promise<void> }> {
  const db = `t${++databases}_${crypto.randomUUID().slice(0, 8)}`;
  const admin = () => postgres({ host: server.socketDir, port: server.port, username: "postgres" });
  const a = admin();
  await a.unsafe(`CREATE DATABASE ${db}`);
  await a.end();
  return {
    options: { host: server.socketDir, port: server.port, db, username: "postgres" },
    async drop() {
      const a = admin();
      await a.unsafe(`DROP DATABASE ${db} WITH (FORCE)`);
      await a.end();
    },
  };
}

/** Runs `body` with a real PostgreSQL server started (and stopped) by this test. */
async function withServer(body: (server: TestPostgres) => Promise<void>): Promise<void> {
  const server = await startPostgres();
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

function raw(options: PostgresOptions) {
  return postgres({
    host: options.host,
    port: options.port,
    database: options.db,
    username: "postgres",
  });
}

Deno.test({
  name: "Postgres: passes the storage conformance suite against a real server",
  ...skip,
  fn: (t) =>
    withServer((server) =>
      storageConformanceSteps(t, async () => {
        const { options, drop } = await freshDatabase(server);
        return { provider: createPostgresStorage(options), cleanup: drop };
      })
    ),
});

Deno.test({
  name:
    "Postgres: tables follow upstream's layout, and a NULL value is a corrupt error naming the key",
  ...skip,
  fn: () =>
    withServer(async (server) => {
      const { options, drop } = await freshDatabase(server);
      const storage = createPostgresStorage(options);
      const sql = raw(options);
      try {
        await storage.namespace("repository").set("default/key/1", new Uint8Array([7]));
        const cols = await sql`SELECT column_name, data_type FROM information_schema.columns
          WHERE table_name = 'repository' ORDER BY column_name`;
        assert.deepEqual(cols.map((c) => [c.column_name, c.data_type]), [
          ["key", "text"],
          ["value", "bytea"],
        ]);
        const rows = await sql`SELECT key, value FROM repository`;
        assert.equal(rows[0]!.key, "default/key/1");
        assert.deepEqual(new Uint8Array(rows[0]!.value), new Uint8Array([7]));

        await sql`INSERT INTO repository (key, value) VALUES ('broken', NULL)`;
        await assert.rejects(storage.namespace("repository").get("broken"), (err: unknown) => {
          assert.ok(err instanceof StorageError);
          assert.equal(err.code, "corrupt");
          assert.equal(err.key, "broken");
          assert.match(
            err.message,
            /^Cannot read key "broken" in namespace "repository" \(PostgreSQL .*\): the stored value is NULL$/,
          );
          return true;
        });
      } finally {
        await sql.end();
        await storage.close();
        await drop();
      }
    }),
});

Deno.test({
  name: "Postgres: operations fail with io errors while the server is down and recover after",
  ...skip,
  fn: () =>
    withServer(async (server) => {
      const { options, drop } = await freshDatabase(server);
      const storage = createPostgresStorage({ ...options, connectTimeoutSeconds: 1 });
      try {
        const ns = storage.namespace("kbs");
        await ns.set("k", new Uint8Array([1]));
        await server.halt();
        await assert.rejects(ns.get("k"), (err: unknown) => {
          assert.ok(err instanceof StorageError);
          assert.equal(err.code, "io");
          assert.ok(
            err.message.startsWith(
              `Cannot read key "k" in namespace "kbs" (PostgreSQL ${server.socketDir}:5432/`,
            ),
            err.message,
          );
          return true;
        });
        await server.start();
        assert.deepEqual(await ns.get("k"), new Uint8Array([1]));
      } finally {
        await storage.close();
        await drop();
      }
    }),
});

Deno.test({
  name: "Postgres: the first connection failure is an io error naming the server",
  ...skip,
  async fn() {
    const dir = await Deno.makeTempDir();
    const storage = createPostgresStorage({
      host: dir,
      port: 5432,
      db: "kbs",
      username: "postgres",
      connectTimeoutSeconds: 1,
    });
    try {
      await assert.rejects(storage.namespace("kbs").get("k"), (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.equal(err.code, "io");
        assert.ok(
          err.message.startsWith(
            `Cannot create the table of namespace "kbs" (PostgreSQL ${dir}:5432/kbs): `,
          ),
          err.message,
        );
        return true;
      });
    } finally {
      await storage.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("Postgres: namespace() rejects a namespace longer than a table name can be", async () => {
  const storage = createPostgresStorage({
    host: "/nonexistent",
    port: 5432,
    db: "x",
    username: "x",
  });
  try {
    assert.throws(() => storage.namespace("n".repeat(64)), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, "invalid-namespace");
      return true;
    });
  } finally {
    await storage.close();
  }
});

Deno.test({
  name: "Postgres: replicas creating the same tables at the same moment all succeed",
  ...skip,
  fn: () =>
    withServer(async (server) => {
      const { options, drop } = await freshDatabase(server);
      const replicas = Array.from({ length: 4 }, () => createPostgresStorage(options));
      try {
        // First use of 10 namespaces by 4 replicas at once: every CREATE TABLE IF NOT EXISTS races.
        for (let i = 0; i < 10; i++) {
          const ns = `race_${i}`;
          await Promise.all(
            replicas.map((r, n) => r.namespace(ns).set(`from-${n}`, new Uint8Array([n]))),
          );
          const keys = await replicas[0]!.namespace(ns).list();
          assert.deepEqual([...keys].sort(), ["from-0", "from-1", "from-2", "from-3"]);
        }
      } finally {
        for (const r of replicas) await r.close();
        await drop();
      }
    }),
});

Deno.test({
  name: "Postgres: change versions and the version-checked cache work across two providers",
  ...skip,
  fn: (t) =>
    withServer((server) =>
      versionConformanceSteps(t, async () => {
        const { options, drop } = await freshDatabase(server);
        const versioned = ["policy"];
        return {
          a: createPostgresStorage(options, { versioned }),
          b: createPostgresStorage(options, { versioned }),
          raw: createPostgresStorage(options),
          cleanup: drop,
        };
      })
    ),
});

Deno.test({
  name: "Postgres: the namespace holding the change versions is refused",
  ...skip,
  fn: () => {
    const s = createPostgresStorage({ host: "/nonexistent", port: 1, db: "x", username: "x" });
    assert.throws(
      () => s.namespace("kbs_cache_versions"),
      (e) => e instanceof StorageError && e.code === "invalid-namespace",
    );
    return s.close();
  },
});
