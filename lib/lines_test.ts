import assert from "node:assert/strict";
import { forEachLine } from "./lines.ts";

Deno.test("forEachLine() splits across chunk boundaries and keeps an unterminated last line", async () => {
  const enc = new TextEncoder();
  const chunks = ["fir", "st\nsec", "ond\n\nthi", "rd"].map((c) => enc.encode(c));
  const lines: string[] = [];
  await forEachLine(ReadableStream.from(chunks), (l) => lines.push(l));
  assert.deepEqual(lines, ["first", "second", "", "third"]);
});
