import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { parseStorageConfig, type StorageConfig } from "./config.ts";
import { StorageError } from "./errors.ts";
import { createStorage } from "./factory.ts";

const OK: Array<[string, unknown, StorageConfig]> = [
  ["the table is absent", undefined, { type: "Memory" }],
  ["storage_type is omitted", {}, { type: "Memory" }],
  ["storage_type is memory", { storage_type: "memory" }, { type: "Memory" }],
  ["storage_type is LocalFs without a section", { storage_type: "LocalFs" }, {
    type: "LocalFs",
    dirPath: "/opt/confidential-containers/storage/local_fs",
  }],
  ["storage_type is local_fs with dir_path", {
    storage_type: "local_fs",
    backends: { local_fs: { dir_path: "/data" } },
  }, { type: "LocalFs", dirPath: "/data" }],
  ["storage_type is LocalJson without a section", { storage_type: "LocalJson" }, {
    type: "LocalJson",
    fileDirPath: "/opt/confidential-containers/storage/local_json",
  }],
  ["storage_type is local_json with file_dir_path", {
    storage_type: "local_json",
    backends: { local_json: { file_dir_path: "/j" } },
  }, { type: "LocalJson", fileDirPath: "/j" }],
  ["storage_type is Postgres", { storage_type: "Postgres" }, {
    type: "Postgres",
    host: "localhost",
    port: 5432,
    db: "postgres",
    username: "postgres",
  }],
  ["storage_type is postgres with a password", {
    storage_type: "postgres",
    backends: { postgres: { host: "db", port: 6543, password: "pw" } },
  }, {
    type: "Postgres",
    host: "db",
    port: 6543,
    db: "postgres",
    username: "postgres",
    password: "pw",
  }],
  ["storage_type is Redis", { storage_type: "redis" }, {
    type: "Redis",
    url: "redis://127.0.0.1:6379",
  }],
];

for (const [when, raw, expected] of OK) {
  Deno.test(`parseStorageConfig() resolves defaults when ${when}`, () => {
    assert.deepEqual(parseStorageConfig(raw, "kbs.toml"), expected);
  });
}

const BAD: Array<[string, unknown, string]> = [
  [
    "storage_type is unknown",
    { storage_type: "Sled" },
    'storage_backend.storage_type: unknown storage type "Sled" (expected one of Memory, LocalFs, LocalJson, Postgres, Redis)',
  ],
  [
    "storage_type is not a string",
    { storage_type: 1 },
    "storage_backend.storage_type: expected a string",
  ],
  ["the table is not a table", "LocalFs", "storage_backend: expected a table"],
  [
    "a top-level field is unknown",
    { type: "Memory" },
    "storage_backend.type: unknown field (expected one of storage_type, backends)",
  ],
  [
    "dir_path is a number",
    { storage_type: "LocalFs", backends: { local_fs: { dir_path: 3 } } },
    "storage_backend.backends.local_fs.dir_path: expected a non-empty string",
  ],
  ["local_fs has an unknown field", {
    storage_type: "LocalFs",
    backends: { local_fs: { path: "/x" } },
  }, "storage_backend.backends.local_fs.path: unknown field (expected one of dir_path)"],
  ["the port is out of range", {
    storage_type: "Postgres",
    backends: { postgres: { port: 70000 } },
  }, "storage_backend.backends.postgres.port: expected a port number (1-65535)"],
  [
    "a backend section is unknown",
    { backends: { sled: {} } },
    "storage_backend.backends.sled: unknown field (expected one of local_fs, local_json, postgres, redis)",
  ],
];

for (const [when, raw, detail] of BAD) {
  Deno.test(`parseStorageConfig() throws a config StorageError naming the key when ${when}`, () => {
    assert.throws(() => parseStorageConfig(raw, "/etc/kbs.toml"), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, "config");
      assert.equal(err.message, `Invalid storage config in /etc/kbs.toml: ${detail}`);
      return true;
    });
  });
}

Deno.test("parseStorageConfig() reads example.toml when given the parsed file", async () => {
  const toml = parseToml(await Deno.readTextFile(new URL("./example.toml", import.meta.url)));
  assert.deepEqual(parseStorageConfig(toml["storage_backend"], "example.toml"), {
    type: "LocalFs",
    dirPath: "/opt/confidential-containers/storage/local_fs",
  });
});

Deno.test("createStorage() returns a working provider when the type is implemented", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const config of [
        { type: "Memory" },
        { type: "LocalFs", dirPath: dir },
        { type: "LocalJson", fileDirPath: `${dir}/json` },
      ] satisfies StorageConfig[]
    ) {
      const storage = createStorage(config);
      const ns = storage.namespace("kbs");
      await ns.set("k", new Uint8Array([1]));
      assert.deepEqual(await ns.get("k"), new Uint8Array([1]));
      await storage.close();
    }
    assert.deepEqual(await Deno.readFile(`${dir}/kbs/k`), new Uint8Array([1]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createStorage() lets POSTGRES_URL and REDIS_URL override the config when set", async () => {
  const env = (name: string) =>
    ({ POSTGRES_URL: "postgres://u@127.0.0.1:1/db", REDIS_URL: "redis://127.0.0.1:1" })[name];
  for (const raw of [{ storage_type: "Postgres" }, { storage_type: "Redis" }]) {
    const storage = createStorage(parseStorageConfig(raw, "kbs.toml"), env);
    await assert.rejects(storage.namespace("kbs").list(), (err: unknown) => {
      assert.ok(err instanceof StorageError);
      assert.equal(err.code, "io");
      assert.match(err.message, /\((PostgreSQL|Redis) 127\.0\.0\.1:1(\/db)?\)/);
      return true;
    });
    await storage.close();
  }
});
