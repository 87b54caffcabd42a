import assert from "node:assert/strict";
import { createMemoryStorage } from "../storage/memory.ts";
import { StorageError } from "../storage/mod.ts";
import { Rvps, RvpsError } from "./mod.ts";
import { downStore } from "./_testing.ts";

const msg = (payload: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: "0.1.0",
    type: "sample",
    payload: new TextEncoder().encode(JSON.stringify(payload)).toBase64(),
    ...extra,
  });

function rvps(now: () => number = () => Date.parse("2026-01-01T00:00:00Z")) {
  const store = createMemoryStorage().namespace("reference_value");
  return { store, rvps: new Rvps(store, now) };
}

Deno.test("Rvps.register() stores each sample entry with a 12-month expiry (upstream record)", async () => {
  const { store, rvps: r } = rvps();
  assert.deepEqual(await r.register(msg({ svn: ["1"], major_version: 1 })), [
    "svn",
    "major_version",
  ]);
  assert.deepEqual(await r.query("svn"), ["1"]);
  assert.equal(await r.query("major_version"), 1);
  assert.equal(await r.query("absent"), undefined);
  const rec = JSON.parse(new TextDecoder().decode((await store.get("svn"))!));
  assert.deepEqual(rec, {
    version: "0.1.0",
    name: "svn",
    expiration: "2027-01-01T00:00:00Z",
    value: ["1"],
  });
  // Registering again overwrites.
  await r.register(msg({ svn: ["2"] }));
  assert.deepEqual(await r.query("svn"), ["2"]);
  assert.deepEqual([...(await r.snapshot()).keys()].sort(), ["major_version", "svn"]);
});

Deno.test("Rvps.query() enforces the expiration (upstream does not)", async () => {
  let now = Date.parse("2026-01-01T00:00:00Z");
  const { rvps: r } = rvps(() => now);
  await r.register(msg({ svn: ["1"] }));
  now = Date.parse("2026-12-31T23:59:59Z");
  assert.deepEqual(await r.query("svn"), ["1"]);
  now = Date.parse("2027-01-01T00:00:00Z");
  assert.equal(await r.query("svn"), undefined);
  assert.equal((await r.snapshot()).size, 0);
});

Deno.test("Rvps.register() names what is wrong with a hostile message", async () => {
  const { rvps: r } = rvps();
  const cases: Array<[string, RegExp]> = [
    ["not json", /Cannot register reference values/],
    [msg({}, { version: "0.2.0" }), /version 0\.2\.0 is not supported/],
    [JSON.stringify({ type: "sample", payload: "%%%" }), /payload/],
    [msg([1, 2]), /payload/],
    [JSON.stringify({ type: "sample" }), /payload/],
  ];
  for (const [text, re] of cases) {
    await assert.rejects(
      r.register(text),
      (e: unknown) => e instanceof RvpsError && e.code === "bad-message" && re.test(e.message),
      text,
    );
  }
  await assert.rejects(
    r.register(msg({}, { type: "in-toto" })),
    (e: unknown) =>
      e instanceof RvpsError && e.code === "unsupported-type" && /in-toto/.test(e.message),
  );
  await assert.rejects(
    r.register(msg({ "a/../b": [1] })),
    (e: unknown) =>
      e instanceof RvpsError && e.code === "bad-message" && /a\/\.\.\/b/.test(e.message),
  );
});

Deno.test("Rvps.query() reports a corrupt stored record by name", async () => {
  const { store, rvps: r } = rvps();
  await store.set("svn", new TextEncoder().encode("{oops"), { overwrite: true });
  await assert.rejects(
    r.query("svn"),
    (e: unknown) => e instanceof RvpsError && e.code === "bad-record" && /`svn`/.test(e.message),
  );
});

Deno.test("Rvps.query(), register() and snapshot() surface a storage outage, not 'not found'", async () => {
  const r = new Rvps(downStore());
  const isIo = (e: unknown) =>
    e instanceof StorageError && e.code === "io" && /Cannot reach the database/.test(e.message);
  await assert.rejects(r.query("svn"), isIo);
  await assert.rejects(r.register(msg({ svn: ["1"] })), isIo);
  await assert.rejects(r.snapshot(), isIo);
});

Deno.test("Rvps.query() reads a name the backend cannot store as absent", async () => {
  const { rvps: r } = rvps();
  assert.equal(await r.query("a/../b"), undefined);
});
