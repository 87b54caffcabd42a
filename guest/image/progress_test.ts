import assert from "node:assert/strict";
import { barLine, jsonProgress, ttyProgress } from "./progress.ts";

const D = `sha256:${"ab".repeat(32)}`;

Deno.test("jsonProgress() writes one JSON object per line", () => {
  const out: string[] = [];
  const sink = jsonProgress((l) => out.push(l));
  sink({ event: "layer", layer: D, status: "downloading", current: 5, total: 10 });
  assert.deepEqual(out.map((l) => JSON.parse(l)), [{
    event: "layer",
    layer: D,
    status: "downloading",
    current: 5,
    total: 10,
  }]);
  assert.ok(out[0]!.endsWith("\n"));
});

Deno.test("ttyProgress() draws one bar per layer, throttled, always on final states", () => {
  let now = 0;
  const out: string[] = [];
  const sink = ttyProgress((t) => out.push(t), () => now);
  sink({ event: "layer", layer: D, status: "waiting", current: 0, total: 2 << 20 });
  sink({ event: "layer", layer: D, status: "downloading", current: 1 << 20, total: 2 << 20 });
  assert.equal(out.length, 1, "throttled within 100 ms");
  now = 150;
  sink({ event: "layer", layer: D, status: "downloading", current: 1 << 20, total: 2 << 20 });
  assert.equal(out.length, 2);
  assert.ok(out[1]!.startsWith("\x1b[1A"), "moves the cursor back over the previous bars");
  sink({ event: "layer", layer: D, status: "done", current: 2 << 20, total: 2 << 20 });
  assert.match(out.at(-1)!, /abababababab \[={30}\] 2\.0 MiB\/2\.0 MiB done/);
  assert.equal(
    barLine(D, "downloading", 1, 2),
    `abababababab [${"=".repeat(15)}>${" ".repeat(14)}] 0.0 MiB/0.0 MiB downloading`,
  );
});
