import assert from "node:assert/strict";
import { garbageBudget, v8Gc } from "./memory.ts";

Deno.test("garbageBudget() collects once per budget of bytes, across calls", () => {
  const calls: unknown[] = [];
  const note = garbageBudget(100, (o) => void calls.push(o));
  note(60);
  assert.equal(calls.length, 0);
  note(60);
  assert.deepEqual(calls, [{ type: "minor" }]);
  note(99);
  assert.equal(calls.length, 1);
  note(250);
  assert.equal(calls.length, 2);
});

Deno.test("garbageBudget() with 0 bytes or no gc never collects", () => {
  let n = 0;
  garbageBudget(0, () => void n++)(1 << 30);
  garbageBudget(100, null)(1 << 30);
  assert.equal(n, 0);
});

Deno.test("v8Gc() exposes V8's gc in Deno", () => {
  const gc = v8Gc();
  assert.equal(typeof gc, "function");
  gc!({ type: "minor" });
});
