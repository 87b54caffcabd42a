/**
 * Shared test cases for change versions ({@linkcode StorageProvider.versions}) and the
 * version-checked cache, run as steps against every shared backend (Postgres, Redis) with two
 * providers on one server standing for two replicas.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { StorageProvider } from "./types.ts";
import { StorageError } from "./errors.ts";
import { syncingStore, VersionClock, versionedStore } from "./versioned_cache.ts";

/**
 * Two providers ("replicas") on one fresh server database, both versioning `policy`, and `raw`,
 * one that versions nothing (a writer that bypasses the versions, to prove the cache serves).
 */
export interface ReplicaPair {
  a: StorageProvider;
  b: StorageProvider;
  raw: StorageProvider;
  cleanup(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (b: Uint8Array | undefined) => b === undefined ? undefined : dec.decode(b);

type Case = [
  string,
  (a: StorageProvider, b: StorageProvider, raw: StorageProvider) => Promise<void>,
];

const CASES: Case[] = [
  ["versions() bumps only when a versioned namespace really changed", async (a, b) => {
    const v = async () => (await b.versions!(["policy", "sessions"]));
    assert.deepEqual(await v(), ["0", "0"]);
    const p = a.namespace("policy");
    assert.equal(await p.set("k", enc.encode("1")), "inserted");
    const v1 = await v();
    assert.notEqual(v1[0], "0");
    assert.equal(await p.set("k", enc.encode("2"), { overwrite: false }), "exists");
    assert.deepEqual(await v(), v1, "a refused insert changed nothing");
    assert.equal(await p.delete("absent"), undefined);
    assert.deepEqual(await v(), v1, "deleting an absent key changed nothing");
    await a.namespace("sessions").set("s", enc.encode("x"));
    assert.deepEqual(await v(), v1, "unversioned namespaces do not bump");
    assert.equal(text(await p.delete("k")), "1");
    const v2 = await v();
    assert.notEqual(v2[0], v1[0]);
    assert.equal(await p.set("k", enc.encode("3")), "inserted");
    assert.notEqual((await v())[0], v2[0]);
    assert.equal(text(await b.namespace("policy").get("k")), "3");
    assert.deepEqual(await b.namespace("policy").list(), ["k"]);
  }],
  ["a cached read on replica B sees replica A's finished write after sync()", async (a, b, raw) => {
    const clock = new VersionClock(b, ["policy"]);
    const onB = versionedStore(b.namespace("policy"), clock);
    const onA = versionedStore(a.namespace("policy"), new VersionClock(a, ["policy"]));
    await onA.set("p", enc.encode("old"));
    await clock.sync();
    assert.equal(text(await onB.get("p")), "old");
    assert.deepEqual(await onB.list(), ["p"]);
    // The cache really serves: a change that bypasses the versions is not seen.
    await raw.namespace("policy").set("p", enc.encode("unversioned"));
    await clock.sync();
    assert.equal(text(await onB.get("p")), "old");
    await onA.set("p", enc.encode("new"));
    await onA.set("q", enc.encode("other"));
    await clock.sync();
    assert.equal(text(await onB.get("p")), "new");
    assert.deepEqual((await onB.list()).sort(), ["p", "q"]);
    await onA.delete("p");
    await clock.sync();
    assert.equal(await onB.get("p"), undefined);
    assert.equal(clock.reads, 4);
  }],
  ["getWithVersions() reads a value and the versions together; a syncing store syncs", async (
    a,
    b,
  ) => {
    await b.namespace("sessions").set("s1", enc.encode("session"));
    assert.deepEqual(await b.getWithVersions!("sessions", "absent", ["policy"]), {
      value: undefined,
      versions: ["0"],
    });
    await a.namespace("policy").set("p", enc.encode("v1"));
    const [v1] = await b.versions!(["policy"]);
    const got = await b.getWithVersions!("sessions", "s1", ["policy", "other"]);
    assert.equal(text(got.value), "session");
    assert.deepEqual(got.versions, [v1, "0"]);
    const clock = new VersionClock(b, ["policy"]);
    const cached = versionedStore(b.namespace("policy"), clock);
    const sessions = syncingStore(b.namespace("sessions"), b, clock);
    assert.equal(text(await sessions.get("s1")), "session");
    assert.equal(clock.version("policy"), v1);
    assert.equal(text(await cached.get("p")), "v1");
    await a.namespace("policy").set("p", enc.encode("v2"));
    assert.equal(await sessions.get("absent"), undefined); // syncs, no separate version read
    assert.equal(text(await cached.get("p")), "v2");
    assert.equal(clock.reads, 0);
    clock.observe(["0"]); // a late, older read cannot move the clock back
    assert.notEqual(clock.version("policy"), "0");
    await assert.rejects(
      b.getWithVersions!("sessions", "../x", ["policy"]),
      (e) => e instanceof StorageError && e.code === "invalid-key",
    );
  }],
  ["concurrent sync() calls share version reads", async (_a, b) => {
    const clock = new VersionClock(b, ["policy"]);
    await Promise.all(Array.from({ length: 20 }, () => clock.sync()));
    assert.ok(clock.reads <= 2, `20 concurrent syncs made ${clock.reads} reads`);
    assert.equal(clock.version("policy"), "0");
  }],
];

/** Runs the cases as steps of one test; each gets a fresh pair from `make`. */
export async function versionConformanceSteps(
  t: Deno.TestContext,
  make: () => Promise<ReplicaPair>,
): Promise<void> {
  for (const [title, body] of CASES) {
    await t.step({
      name: title,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: async () => {
        const { a, b, raw, cleanup } = await make();
        try {
          await body(a, b, raw);
        } finally {
          await a.close();
          await b.close();
          await raw.close();
          await cleanup();
        }
      },
    });
  }
}
