import assert from "node:assert/strict";
import { createLogger } from "./log.ts";

Deno.test("a child logger keeps its parent's level, format and fields", () => {
  const lines: string[] = [];
  const root = createLogger({ level: "warn", format: "json", write: (l) => lines.push(l) });
  const child = root.child({ req: "r1" }).child({ step: 2 });
  child.info("dropped: below warn");
  child.warn("kept", { x: 1 });
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]!);
  assert.equal(rec.level, "warn");
  assert.equal(rec.msg, "kept");
  assert.equal(rec.req, "r1");
  assert.equal(rec.step, 2);
  assert.equal(rec.x, 1);
});
