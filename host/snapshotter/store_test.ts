import assert from "node:assert/strict";
import { SnapshotStoreError } from "./errors.ts";
import { type SnapshotRecord, SnapshotStore } from "./store.ts";

const rec = (name: string, parent = "", id = 1): SnapshotRecord => ({
  id,
  name,
  parent,
  kind: "committed",
  mode: "overlay",
  labels: { a: "b" },
  created: "2026-01-01T00:00:00.000Z",
  updated: "2026-01-01T00:00:00.000Z",
  size: 10,
  inodes: 2,
});

Deno.test("SnapshotStore.save() persists records and ids across reopen, atomically", async () => {
  const root = await Deno.makeTempDir();
  try {
    const s = await SnapshotStore.open(root);
    assert.equal(s.allocateId(), 1);
    assert.equal(s.allocateId(), 2);
    s.put(rec("base"));
    s.put({ ...rec("top", "base", 2), kind: "active", mode: "guest-pull" });
    await s.save();
    const entries = [...Deno.readDirSync(root)].map((e) => e.name);
    assert.deepEqual(entries, ["metadata.json"], "no temporary file left");
    const again = await SnapshotStore.open(root);
    assert.deepEqual(again.get("top"), {
      ...rec("top", "base", 2),
      kind: "active",
      mode: "guest-pull",
    });
    assert.equal(again.allocateId(), 3);
    assert.equal(again.hasChildren("base"), true);
    assert.equal(again.hasChildren("top"), false);
    assert.deepEqual(again.ancestors(again.get("top")!).map((r) => r.name), ["base"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("SnapshotStore.open() rejects corrupt metadata naming the file and field", async () => {
  const root = await Deno.makeTempDir();
  const file = `${root}/metadata.json`;
  const doc = (snapshots: unknown[], extra: Record<string, unknown> = {}) =>
    JSON.stringify({ version: 1, nextId: 5, snapshots, ...extra });
  const cases: [string, RegExp][] = [
    ["{", /JSON/],
    [JSON.stringify({ version: 2, nextId: 1, snapshots: [] }), /metadata\.version must be 1/],
    [doc([{ ...rec("a"), kind: "weird" }]), /metadata\.snapshots\[0\]\.kind is unknown/],
    [doc([{ ...rec("a"), mode: "x" }]), /\.mode is unknown/],
    [doc([{ ...rec("a"), id: -1 }]), /\.id must be a non-negative integer/],
    [doc([{ ...rec("a"), labels: { k: 1 } }]), /labels\.k must be a string/],
    [doc([rec("a"), rec("a")]), /"a" appears twice/],
    [doc([rec("b", "missing")]), /parent "missing" of "b" is missing/],
    [doc([], { nextId: "x" }), /nextId must be a non-negative integer/],
  ];
  try {
    for (const [text, re] of cases) {
      await Deno.writeTextFile(file, text);
      await assert.rejects(SnapshotStore.open(root), (e: unknown) => {
        assert.ok(e instanceof SnapshotStoreError);
        assert.equal(e.code, "store_corrupt");
        assert.ok(e.message.includes(file));
        assert.match(e.message, re);
        return true;
      }, text);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
