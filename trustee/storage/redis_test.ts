import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createClient } from "redis";
import { skipUnless } from "../../tests/peers.ts";
import { storageConformanceSteps } from "./conformance.ts";
import { versionConformanceSteps } from "./versions_conformance.ts";
import { StorageError } from "./errors.ts";
import { createRedisStorage } from "./redis.ts";
import { redisPeers, startRedis, type TestRedis } from "./test_servers.ts";

const skip = skipUnless(redisPeers(), "Redis storage tests (real Redis server)");
let server: TestRedis | undefined;

async function flushed(): Promise<TestRedis> {
  const c = createClient({ url: server!.url });
  await c.connect();
  await c.flushAll();
  await c.close();
  return server!;
}

/** Runs `fn` with a real Redis server started (and stopped) by this test. */
function withServer(fn: (t: Deno.TestContext) => Promise<void>) {
  return async (t: Deno.TestContext) => {
    server = await startRedis();
    try {
      await fn(t);
    } finally {
      await server.stop();
      server = undefined;
    }
  };
}

Deno.test({
  name: "Redis: passes the storage conformance suite against a real server",
  ...skip,
  fn: withServer((t) =>
    storageConformanceSteps(t, async () => {
      const s = await flushed();
      return { provider: createRedisStorage({ url: s.url }), cleanup: () => Promise.resolve() };
    })
  ),
});

Deno.test({
  name: "Redis: set() writes upstream's <namespace>:<key> layout with raw bytes",
  ...skip,
  fn: withServer(async () => {
    const s = await flushed();
    const storage = createRedisStorage({ url: s.url });
    const c = createClient({ url: s.url });
    try {
      await storage.namespace("repository").set("default/key/1", new Uint8Array([0, 255]));
      await c.connect();
      assert.deepEqual(await c.keys("*"), ["repository:default/key/1"]);
      const raw = await c.withTypeMapping({ 36: Buffer }).get("repository:default/key/1");
      assert.ok(raw instanceof Uint8Array);
      assert.deepEqual(new Uint8Array(raw), new Uint8Array([0, 255]));
    } finally {
      await c.close();
      await storage.close();
    }
  }),
});

Deno.test({
  name: "Redis: list() ignores keys of a namespace that extends this one with ':'",
  ...skip,
  fn: withServer(async () => {
    const s = await flushed();
    const storage = createRedisStorage({ url: s.url });
    try {
      await storage.namespace("kbs").set("a", new Uint8Array([1]));
      await storage.namespace("kbs:x").set("b", new Uint8Array([2]));
      await storage.namespace("k*s").set("c", new Uint8Array([3]));
      assert.deepEqual(await storage.namespace("kbs").list(), ["a"]);
      assert.deepEqual(await storage.namespace("k*s").list(), ["c"]);
    } finally {
      await storage.close();
    }
  }),
});

Deno.test({
  name: "Redis: get() throws a corrupt StorageError naming the key when the value is not a string",
  ...skip,
  fn: withServer(async () => {
    const s = await flushed();
    const storage = createRedisStorage({ url: s.url });
    const c = createClient({ url: s.url });
    try {
      await c.connect();
      await c.lPush("kbs:broken", "x");
      await assert.rejects(storage.namespace("kbs").get("broken"), (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.equal(err.code, "corrupt");
        assert.equal(err.key, "broken");
        assert.equal(
          err.message,
          `Cannot read key "broken" in namespace "kbs" (Redis ${s.url}): the stored value is not a Redis string`,
        );
        return true;
      });
    } finally {
      await c.close();
      await storage.close();
    }
  }),
});

Deno.test({
  name: "Redis: operations fail with io errors while the server is down and recover after",
  ...skip,
  fn: withServer(async () => {
    const s = await flushed();
    const storage = createRedisStorage({ url: s.url, connectTimeoutMs: 1000 });
    try {
      const ns = storage.namespace("kbs");
      await ns.set("k", new Uint8Array([1]));
      await s.halt();
      await assert.rejects(ns.get("k"), (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.equal(err.code, "io");
        assert.ok(
          err.message.startsWith(`Cannot read key "k" in namespace "kbs" (Redis ${s.url}): `),
        );
        return true;
      });
      await s.start();
      let value: Uint8Array | undefined | "failed" = "failed";
      for (let i = 0; i < 200 && value === "failed"; i++) {
        value = await ns.set("k", new Uint8Array([2])).then(
          () => ns.get("k"),
          () => "failed" as const,
        );
        if (value === "failed") await new Promise((r) => setTimeout(r, 25)); // reconnect backoff
      }
      assert.deepEqual(value, new Uint8Array([2]));
    } finally {
      await storage.close();
    }
  }),
});

Deno.test({
  name: "Redis: a first connection failure is an io error naming the server",
  ...skip,
  async fn() {
    const dir = await Deno.makeTempDir();
    const storage = createRedisStorage({ url: `unix://${dir}/none.sock`, connectTimeoutMs: 500 });
    try {
      await assert.rejects(storage.namespace("kbs").list(), (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.equal(err.code, "io");
        assert.ok(
          err.message.startsWith(`Cannot list namespace "kbs" (Redis unix://${dir}/none.sock): `),
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

Deno.test({
  name: "Redis: change versions and the version-checked cache work across two providers",
  ...skip,
  fn: withServer((t) =>
    versionConformanceSteps(t, async () => {
      const s = await flushed();
      const versioned = ["policy"];
      return {
        a: createRedisStorage({ url: s.url }, { versioned }),
        b: createRedisStorage({ url: s.url }, { versioned }),
        raw: createRedisStorage({ url: s.url }),
        cleanup: () => Promise.resolve(),
      };
    })
  ),
});

Deno.test("Redis: the namespace holding the change versions is refused", async () => {
  const s = createRedisStorage({ url: "redis://127.0.0.1:1" });
  assert.throws(
    () => s.namespace("kbs_cache_versions"),
    (e) => e instanceof StorageError && e.code === "invalid-namespace",
  );
  await s.close();
});
