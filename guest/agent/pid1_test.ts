import assert from "node:assert/strict";
import { initMountPlan, loadModule, mountPoints, orphanOwned, shouldRunAsInit } from "./pid1.ts";

Deno.test("mountPoints() reads mountinfo targets, decoding octal escapes", () => {
  const info = [
    "22 1 0:21 / /proc rw,nosuid - proc proc rw",
    "23 1 0:22 / /run/with\\040space rw - tmpfs tmpfs rw",
  ].join("\n");
  assert.deepEqual([...mountPoints(info)], ["/proc", "/run/with space"]);
});

Deno.test("initMountPlan() picks cgroup v2 from the command line, v1 controllers otherwise", () => {
  const v2 = initMountPlan("quiet cgroup_no_v1=all").map((m) => m.fstype);
  assert.deepEqual(v2.slice(-1), ["cgroup2"]);
  const v1 = initMountPlan("quiet");
  assert.ok(v1.some((m) => m.target === "/sys/fs/cgroup/memory" && m.optional));
  assert.deepEqual(v1.slice(0, 2).map((m) => m.target), ["/proc", "/sys"]);
});

Deno.test("shouldRunAsInit() and orphanOwned() decide as documented", () => {
  assert.equal(shouldRunAsInit({ pid: 1, mode: "auto" }), true);
  assert.equal(shouldRunAsInit({ pid: 7, mode: "auto" }), false);
  assert.equal(shouldRunAsInit({ pid: 1, mode: "never" }), false);
  const next = new Set<number>();
  assert.equal(orphanOwned(42, new Set(), next), true); // first sighting: leave it
  assert.equal(orphanOwned(42, next, new Set()), false); // still there a sweep later: reap
});

Deno.test("loadModule() refuses module names and parameters that are not plain words", async () => {
  for (const [name, params] of [["../evil", []], ["dm_crypt", ["a b"]], ["x;y", []]] as const) {
    await assert.rejects(loadModule(name, params), /bad module/);
  }
});
