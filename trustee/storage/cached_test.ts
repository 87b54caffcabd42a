import assert from "node:assert/strict";
import { cachedStore } from "./cached.ts";
import { createMemoryStorage } from "./memory.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("cachedStore() serves a read from memory until ttl passes when another writer changes the value", async () => {
  let t = 0;
  const storage = createMemoryStorage();
  const raw = storage.namespace("kbs");
  const cached = cachedStore(raw, 1000, () => t);
  await raw.set("p", bytes("one"));
  assert.deepEqual(await cached.get("p"), bytes("one"));
  await raw.set("p", bytes("two")); // another replica writes
  t = 999;
  assert.deepEqual(await cached.get("p"), bytes("one"));
  t = 1000;
  assert.deepEqual(await cached.get("p"), bytes("two"));
  await storage.close();
});

Deno.test("cachedStore() sees its own writes, deletes and listings at once", async () => {
  const storage = createMemoryStorage();
  const cached = cachedStore(storage.namespace("kbs"), 60_000, () => 0);
  assert.deepEqual(await cached.list(), []);
  assert.equal(await cached.get("p"), undefined);
  await cached.set("p", bytes("v"));
  assert.deepEqual(await cached.get("p"), bytes("v"));
  assert.deepEqual(await cached.list(), ["p"]);
  assert.equal(await cached.set("p", bytes("w"), { overwrite: false }), "exists");
  assert.deepEqual(await cached.get("p"), bytes("v"));
  assert.deepEqual(await cached.delete("p"), bytes("v"));
  assert.equal(await cached.get("p"), undefined);
  assert.deepEqual(await cached.list(), []);
  await storage.close();
});

Deno.test("cachedStore() returns copies when the caller mutates a read value", async () => {
  const storage = createMemoryStorage();
  const cached = cachedStore(storage.namespace("kbs"), 60_000, () => 0);
  await cached.set("p", bytes("abc"));
  const a = (await cached.get("p"))!;
  a[0] = 0;
  assert.deepEqual(await cached.get("p"), bytes("abc"));
  await storage.close();
});

Deno.test("cachedStore() returns the inner store when ttl is 0", async () => {
  const storage = createMemoryStorage();
  const ns = storage.namespace("kbs");
  assert.equal(cachedStore(ns, 0), ns);
  await storage.close();
});
