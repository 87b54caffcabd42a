/**
 * Pod start phase lines: parsing them back from shim logs (text and JSON), the `start` action's
 * time origin, and — with a local agent and real runc — that a pod start logs every phase once,
 * in order, with its name.
 */
import assert from "node:assert/strict";
import { createLogger, memoryLogger } from "@coco/lib/log";
import { shimTask } from "@coco/lib/proto";
import { createClient, TtrpcClient } from "@coco/lib/ttrpc";
import { findPeers, isRoot, requireAlso, skipUnless } from "../../tests/peers.ts";
import { busyboxBundle, serveLocalShim } from "./_local_shim_testing.ts";
import {
  logPhase,
  parsePhaseLine,
  PHASE_MESSAGE,
  POD_START_PHASES,
  SHIM_T0_ENV,
  shimStartMs,
} from "./phases.ts";

Deno.test("parsePhaseLine() reads back what logPhase() writes, as text and as JSON", () => {
  for (const format of ["text", "json"] as const) {
    const lines: string[] = [];
    const log = createLogger({ format, level: "info", write: (l) => lines.push(l) })
      .child({ shim: "pod 1", namespace: "default" });
    logPhase(log, "vm-boot", 1234.56, { backend: "none" });
    log.info("something else", { phase: "vm-boot", ms: 1 });
    assert.equal(lines.length, 2);
    assert.deepEqual(parsePhaseLine(lines[0]!), { phase: "vm-boot", ms: 1234.6, shim: "pod 1" });
    assert.equal(parsePhaseLine(lines[1]!), undefined, `${format}: not a phase line`);
    // containerd 1.6 copies the shim's log into its own stderr with a prefix.
    assert.deepEqual(parsePhaseLine(`time="x" level=info ${lines[0]}`)?.phase, "vm-boot");
  }
});

Deno.test("parsePhaseLine() ignores unknown phases and non-numeric durations", () => {
  assert.equal(parsePhaseLine(`${PHASE_MESSAGE} phase=warp-drive ms=3`), undefined);
  assert.equal(parsePhaseLine(`${PHASE_MESSAGE} phase=vm-boot ms=soon`), undefined);
  assert.equal(parsePhaseLine(`${PHASE_MESSAGE} phase=vm-boot`), undefined);
  assert.equal(parsePhaseLine(`{"msg":"${PHASE_MESSAGE}","phase":"vm-boot","ms":"3"}`), undefined);
  assert.equal(parsePhaseLine(`{"msg":"${PHASE_MESSAGE}", broken`), undefined);
  assert.deepEqual(parsePhaseLine(`${PHASE_MESSAGE} ms=3 phase=image-pull`), {
    phase: "image-pull",
    ms: 3,
  });
});

Deno.test("shimStartMs() counts from the start action's origin only when it is plausible", () => {
  const earlier = String(performance.timeOrigin - 5000);
  assert.ok(shimStartMs((n) => (n === SHIM_T0_ENV ? earlier : undefined)) >= 5000);
  const own = performance.now();
  for (const bad of [undefined, "", "soon", "-1", String(performance.timeOrigin + 60_000)]) {
    const ms = shimStartMs(() => bad);
    assert.ok(ms >= own && ms < own + 5000, `${bad} falls back to this process's start`);
  }
});

const peers = requireAlso(findPeers("runc", "busybox"), isRoot(), "needs root for runc");

Deno.test({
  name: "serveShim() logs every pod start phase in order for a pod on the none backend",
  ...skipUnless(peers, "pod start phases with a local agent"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "shim-phases-" });
    const log = memoryLogger();
    const shim = await serveLocalShim(dir, "p1", log);
    const conn = await TtrpcClient.connect(shim.address);
    const task = createClient(conn, shimTask.Task);
    try {
      await task.create({ id: "p1", bundle: await busyboxBundle(dir, "p1", ["true"]) });
      await task.start({ id: "p1" });
      assert.equal((await task.wait({ id: "p1" })).exitStatus, 0);
      await task.delete({ id: "p1" });
      await task.shutdown({ id: "p1" });
      await shim.done;
      const phases = log.records.filter((r) => r.msg === PHASE_MESSAGE);
      assert.deepEqual(phases.map((r) => r.phase), [...POD_START_PHASES]);
      for (const r of phases) {
        assert.equal(r.level, "info");
        assert.equal(typeof r.ms, "number", `${r.phase} carries its duration`);
        assert.equal(r.shim, "p1");
      }
      assert.equal(phases[1]!.backend, "none");
      assert.equal(phases[3]!.container, "p1");
      assert.equal(phases[3]!.measured, "CreateContainer");
      assert.equal(phases[4]!.container, "p1");
    } finally {
      await conn.close();
      await shim.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
