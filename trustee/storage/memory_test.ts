import assert from "node:assert/strict";
import { storageConformance } from "./conformance.ts";
import { createMemoryStorage } from "./memory.ts";

storageConformance(
  "Memory",
  () => Promise.resolve({ provider: createMemoryStorage(), cleanup: () => Promise.resolve() }),
);

Deno.test("createMemoryStorage() starts empty when two providers are created", async () => {
  const a = createMemoryStorage();
  const b = createMemoryStorage();
  await a.namespace("kbs").set("k", new Uint8Array([1]));
  assert.deepEqual(await b.namespace("kbs").list(), []);
});
