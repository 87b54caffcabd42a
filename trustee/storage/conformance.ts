/**
 * The one conformance suite every storage backend passes. Each backend's `*_test.ts` calls
 * {@linkcode storageConformance} with a factory for a fresh, empty provider.
 *
 * @module
 */
import assert from "node:assert/strict";
import { StorageError } from "./errors.ts";
import type { StorageProvider } from "./types.ts";

/** A fresh provider plus a function removing whatever it created. */
export interface ConformanceFixture {
  provider: StorageProvider;
  cleanup(): Promise<void>;
}

const bytes = (text: string) => new TextEncoder().encode(text);

type Case = [name: string, body: (p: StorageProvider) => Promise<void>];

const CASES: Case[] = [
  ["set() then get() returns the value when the key was inserted", async (p) => {
    const ns = p.namespace("kbs");
    assert.equal(await ns.set("resource-policy.rego", bytes("package policy")), "inserted");
    assert.deepEqual(await ns.get("resource-policy.rego"), bytes("package policy"));
  }],
  ["get() returns undefined when the key is absent", async (p) => {
    assert.equal(await p.namespace("kbs").get("missing"), undefined);
  }],
  ["set() replaces the value when overwrite is true or omitted", async (p) => {
    const ns = p.namespace("kbs");
    await ns.set("k", bytes("one"));
    assert.equal(await ns.set("k", bytes("two")), "inserted");
    assert.equal(await ns.set("k", bytes("three"), { overwrite: true }), "inserted");
    assert.deepEqual(await ns.get("k"), bytes("three"));
  }],
  ["set() returns exists and keeps the value when overwrite is false", async (p) => {
    const ns = p.namespace("kbs");
    assert.equal(await ns.set("k", bytes("first"), { overwrite: false }), "inserted");
    assert.equal(await ns.set("k", bytes("second"), { overwrite: false }), "exists");
    assert.deepEqual(await ns.get("k"), bytes("first"));
  }],
  ["set() lets exactly one writer win when concurrent sets use overwrite false", async (p) => {
    const ns = p.namespace("race");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => ns.set("k", bytes(`v${i}`), { overwrite: false })),
    );
    assert.equal(results.filter((r) => r === "inserted").length, 1);
    const winner = results.indexOf("inserted");
    assert.deepEqual(await ns.get("k"), bytes(`v${winner}`));
  }],
  ["list() returns every key when keys were set", async (p) => {
    const ns = p.namespace("repository");
    assert.deepEqual(await ns.list(), []);
    await ns.set("a", bytes("1"));
    await ns.set("default/key/1", bytes("2"));
    await ns.set(".hidden", bytes("3"));
    assert.deepEqual((await ns.list()).sort(), [".hidden", "a", "default/key/1"]);
  }],
  ["delete() returns the old value and removes the key when it exists", async (p) => {
    const ns = p.namespace("kbs");
    await ns.set("k", bytes("old"));
    assert.deepEqual(await ns.delete("k"), bytes("old"));
    assert.equal(await ns.get("k"), undefined);
    assert.deepEqual(await ns.list(), []);
    assert.equal(await ns.delete("k"), undefined);
  }],
  [
    "set() stores binary values byte for byte when they are empty or contain every byte",
    async (p) => {
      const ns = p.namespace("bin");
      const all = Uint8Array.from({ length: 256 }, (_, i) => i);
      await ns.set("empty", new Uint8Array());
      await ns.set("all", all);
      assert.deepEqual(await ns.get("empty"), new Uint8Array());
      assert.deepEqual(await ns.get("all"), all);
      assert.deepEqual((await ns.list()).sort(), ["all", "empty"]);
    },
  ],
  ["set() keeps slashes in keys when keys are resource paths", async (p) => {
    const ns = p.namespace("repository");
    await ns.set("default/key/testfile", bytes("a"));
    await ns.set("default/key", bytes("b"));
    assert.deepEqual(await ns.get("default/key/testfile"), bytes("a"));
    assert.deepEqual(await ns.get("default/key"), bytes("b"));
    assert.deepEqual((await ns.list()).sort(), ["default/key", "default/key/testfile"]);
  }],
  ["namespace() returns the same instance when called twice", (p) => {
    assert.equal(p.namespace("kbs"), p.namespace("kbs"));
    return Promise.resolve();
  }],
  ["namespace() isolates keys when two namespaces use the same key", async (p) => {
    const a = p.namespace("kbs");
    const b = p.namespace("kbs_protocol_session");
    const nested = p.namespace("tenant/kbs");
    await a.set("k", bytes("a"));
    await b.set("k", bytes("b"));
    assert.deepEqual(await a.get("k"), bytes("a"));
    assert.deepEqual(await b.get("k"), bytes("b"));
    assert.equal(await nested.get("k"), undefined);
    await a.delete("k");
    assert.deepEqual(await b.get("k"), bytes("b"));
  }],
  ["set() stores every value when different keys are set concurrently", async (p) => {
    const ns = p.namespace("concurrent");
    const keys = Array.from({ length: 32 }, (_, i) => `k/${i}`);
    await Promise.all(keys.map((k) => ns.set(k, bytes(k))));
    assert.deepEqual((await ns.list()).sort(), [...keys].sort());
    for (const k of keys) assert.deepEqual(await ns.get(k), bytes(k));
  }],
  ["set() and get() copy values when the caller mutates its buffer", async (p) => {
    const ns = p.namespace("alias");
    const input = bytes("abc");
    await ns.set("k", input);
    input[0] = 0x7a;
    const out = await ns.get("k");
    assert.deepEqual(out, bytes("abc"));
    out![1] = 0x7a;
    assert.deepEqual(await ns.get("k"), bytes("abc"));
  }],
];

const BAD_KEYS = ["", "a b", "../x", "a/../b", "..", ".", "a\\b", "ä", "a:b", "a\nb"];
const BAD_NAMESPACES = ["", "/kbs", "kbs/", "a//b", "a/./b", "..", "a/../b", "."];

async function rejectsBadKeys(p: StorageProvider): Promise<void> {
  const ns = p.namespace("kbs");
  for (const key of BAD_KEYS) {
    const pinned = (err: unknown) => {
      assert.ok(err instanceof StorageError, `key ${JSON.stringify(key)}`);
      assert.equal(err.code, "invalid-key");
      assert.equal(err.key, key);
      assert.equal(err.namespace, "kbs");
      assert.match(err.message, /^Invalid storage key .* in namespace "kbs": /);
      assert.ok(err.message.includes(JSON.stringify(key)));
      return true;
    };
    await assert.rejects(ns.set(key, bytes("x")), pinned);
    await assert.rejects(ns.get(key), pinned);
    await assert.rejects(ns.delete(key), pinned);
  }
  assert.deepEqual(await ns.list(), []);
}

function rejectsBadNamespaces(p: StorageProvider): Promise<void> {
  for (const name of BAD_NAMESPACES) {
    assert.throws(() => p.namespace(name), (err: unknown) => {
      assert.ok(err instanceof StorageError, `namespace ${JSON.stringify(name)}`);
      assert.equal(err.code, "invalid-namespace");
      assert.equal(err.namespace, name);
      assert.ok(err.message.startsWith(`Invalid storage namespace ${JSON.stringify(name)}: `));
      return true;
    });
  }
  return Promise.resolve();
}

CASES.push(
  ["set(), get() and delete() reject the key when it is invalid", rejectsBadKeys],
  ["namespace() throws when the namespace name is invalid", rejectsBadNamespaces],
);

/**
 * Runs the conformance cases as steps of one test, for backends whose server the enclosing test
 * starts and stops (so the op and resource sanitizers see no server outlive its test). Every
 * step gets a fresh provider from `make`.
 */
export async function storageConformanceSteps(
  t: Deno.TestContext,
  make: () => Promise<ConformanceFixture>,
): Promise<void> {
  for (const [title, body] of CASES) {
    await t.step({
      name: title,
      sanitizeOps: false,
      sanitizeResources: false,
      fn: async () => {
        const { provider, cleanup } = await make();
        try {
          await body(provider);
        } finally {
          await provider.close();
          await cleanup();
        }
      },
    });
  }
}

/**
 * Registers the conformance tests for one backend. Every test gets a fresh provider from `make`
 * and cleans it up, even when the test fails.
 */
export function storageConformance(
  name: string,
  make: () => Promise<ConformanceFixture>,
): void {
  for (const [title, body] of CASES) {
    Deno.test(`${name}: ${title}`, async () => {
      const { provider, cleanup } = await make();
      try {
        await body(provider);
      } finally {
        await provider.close();
        await cleanup();
      }
    });
  }
}
