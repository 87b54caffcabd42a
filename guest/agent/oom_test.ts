import assert from "node:assert/strict";
import { OomWatcher, readOomKills } from "./oom.ts";

async function fakeCgroups(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "oom-" });
  await Deno.mkdir(`${root}/coco/v2c`, { recursive: true });
  await Deno.mkdir(`${root}/memory/coco/v1c`, { recursive: true });
  await Deno.writeTextFile(
    `${root}/coco/v2c/memory.events`,
    "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n",
  );
  await Deno.writeTextFile(
    `${root}/memory/coco/v1c/memory.oom_control`,
    "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
  );
  return root;
}

Deno.test("OOM counters are read from cgroup v2 memory.events and v1 memory.oom_control", async () => {
  const root = await fakeCgroups();
  try {
    assert.equal(await readOomKills(root, "v2c"), 0);
    assert.equal(await readOomKills(root, "v1c"), 2);
    assert.equal(await readOomKills(root, "absent"), undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("OomWatcher hands out one event per new OOM kill, only for kills after tracking", async () => {
  const root = await fakeCgroups();
  const w = new OomWatcher(() => ["v2c", "v1c"], { root, intervalMs: 5 });
  try {
    await w.track("v2c");
    await w.track("v1c"); // its 2 earlier kills do not count
    const first = w.next();
    await Deno.writeTextFile(`${root}/coco/v2c/memory.events`, "oom 1\noom_kill 1\n");
    assert.equal(await first, "v2c");
    await Deno.writeTextFile(`${root}/memory/coco/v1c/memory.oom_control`, "oom_kill 4\n");
    await w.poll();
    assert.equal(await w.next(), "v1c"); // queued while nobody waited
    assert.equal(await w.next(), "v1c");
    const pending = w.next();
    w.close(new Error("sandbox destroyed"));
    await assert.rejects(pending, /sandbox destroyed/);
  } finally {
    w.close(new Error("done"));
    await Deno.remove(root, { recursive: true });
  }
});
