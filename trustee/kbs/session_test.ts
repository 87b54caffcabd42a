import assert from "node:assert/strict";
import { createMemoryStorage } from "../storage/memory.ts";
import { SessionStore } from "./session.ts";

const request = { version: "0.4.0", tee: "sample" as const, "extra-params": "" };
const enc = new TextEncoder();

/** A session as another replica would have written it, expired at `timeout`. */
function foreign(id: string, timeout: string): Uint8Array {
  return enc.encode(JSON.stringify({ Attested: { token: "t", id, timeout } }));
}

for (const shared of [true, false]) {
  Deno.test(`SessionStore.sweep() deletes expired sessions (shared store: ${shared})`, async () => {
    let now = Date.parse("2026-01-01T00:00:00Z");
    const kv = createMemoryStorage().namespace("kbs_protocol_session");
    const store = new SessionStore(kv, () => now, {
      maxSessions: 100,
      maxSessionsPerClient: 100,
      shared,
    });
    const old = await store.create(request, { nonce: "n1", "extra-params": "" }, 5, "a");
    now += 4 * 60_000;
    const young = await store.create(request, { nonce: "n2", "extra-params": "" }, 5, "a");
    const stranger = "f".repeat(32);
    await kv.set(stranger, foreign(stranger, "2026-01-01T00:01:00Z"), { overwrite: true });
    now += 2 * 60_000; // `old` and the stranger have expired, `young` has not
    const oldId = (old as { Authed: { id: string } }).Authed.id;
    const youngId = (young as { Authed: { id: string } }).Authed.id;
    // Only a shared store is scanned for sessions other replicas left behind.
    assert.equal(await store.sweep(), shared ? 2 : 1);
    assert.equal(await kv.get(oldId), undefined);
    assert.ok(await kv.get(youngId));
    assert.equal((await kv.get(stranger)) === undefined, shared);
    assert.equal(store.size, 1);
  });
}
