/**
 * The Task service in process, with the agent as a local process (hypervisor.type = none) and
 * real runc: Kill / Wait / Delete / Exec semantics, status codes, and the event order.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger, nullLogger } from "@coco/lib/log";
import { cgroupsV1, ctrdEventsService, fromBinary, shimTask } from "@coco/lib/proto";
import { createClient, listen, TtrpcClient, TtrpcError, TtrpcServer } from "@coco/lib/ttrpc";
import { findPeers, isRoot, requireAlso, skipUnless } from "../../tests/peers.ts";
import { busyboxBundle, serveLocalShim } from "./_local_shim_testing.ts";

const peers = requireAlso(findPeers("runc", "busybox", "mkfifo"), isRoot(), "needs root for runc");

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof TtrpcError) return err.code;
    throw err;
  }
}

Deno.test({
  name: "Task service: Kill/Wait/Delete/Exec semantics and event order with a local agent",
  ...skipUnless(peers, "task service with local agent"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "shim-task-" });
    const topics: string[] = [];
    const events = new TtrpcServer();
    events.registerService(ctrdEventsService.Events, {
      forward: (req) => {
        topics.push(`${req.envelope!.topic}`);
        return {};
      },
    });
    const evAddr = `unix://${dir}/events.sock`;
    const evServing = events.serve(await listen(evAddr));
    const shim = await serveLocalShim(
      dir,
      "t1",
      Deno.env.get("SHIM_TEST_DEBUG") ? createLogger({ level: "debug" }) : nullLogger,
      (n) => (n === "TTRPC_ADDRESS" ? evAddr : undefined),
    );
    const conn = await TtrpcClient.connect(shim.address);
    const task = createClient(conn, shimTask.Task);
    try {
      assert.equal(await code(task.state({ id: "nope" })), "NOT_FOUND");
      assert.equal(await code(task.kill({ id: "nope", signal: 9 })), "NOT_FOUND");
      assert.equal(await code(task.checkpoint({ id: "nope" })), "UNIMPLEMENTED");

      const b = await busyboxBundle(dir, "t1", ["sleep", "1000"]);
      const created = await task.create({ id: "t1", bundle: b });
      assert.ok(created.pid > 0);
      assert.equal(await code(task.create({ id: "t1", bundle: b })), "ALREADY_EXISTS");
      assert.equal((await task.state({ id: "t1" })).status, 1); // CREATED
      await task.start({ id: "t1" });
      assert.equal((await task.state({ id: "t1" })).status, 2); // RUNNING
      assert.equal((await task.connect({ id: "t1" })).taskPid, created.pid);
      const stats = (await task.stats({ id: "t1" })).stats!;
      assert.equal(stats.typeUrl, "io.containerd.cgroups.v1.Metrics");
      const metrics = fromBinary(cgroupsV1.MetricsSchema, stats.value);
      assert.ok((metrics.memory?.usage?.usage ?? 0n) > 0n);
      assert.ok((metrics.pids?.current ?? 0n) >= 1n);

      const spec = { args: ["sh", "-c", "exit 5"], env: ["PATH=/bin"], cwd: "/" };
      await task.exec({
        id: "t1",
        execId: "x1",
        spec: {
          typeUrl: "types.containerd.io/opencontainers/runtime-spec/1/Process",
          value: new TextEncoder().encode(JSON.stringify(spec)),
        },
      });
      assert.equal(
        await code(task.exec({ id: "t1", execId: "x1", spec: { typeUrl: "x" } })),
        "ALREADY_EXISTS",
      );
      await task.start({ id: "t1", execId: "x1" });
      assert.equal((await task.wait({ id: "t1", execId: "x1" })).exitStatus, 5);
      assert.equal((await task.delete({ id: "t1", execId: "x1" })).exitStatus, 5);

      assert.equal(await code(task.delete({ id: "t1" })), "FAILED_PRECONDITION");
      const waiting = task.wait({ id: "t1" });
      // sleep is PID 1 of its namespace and ignores SIGTERM: SIGKILL it.
      await task.kill({ id: "t1", signal: 9 });
      assert.equal((await waiting).exitStatus, 137);
      assert.equal(await code(task.kill({ id: "t1", signal: 15 })), "OK");
      assert.equal(await code(task.kill({ id: "t1", signal: 10 })), "NOT_FOUND");
      const del = await task.delete({ id: "t1" });
      assert.equal(del.exitStatus, 137);
      assert.equal(await code(task.state({ id: "t1" })), "NOT_FOUND");
      await task.shutdown({ id: "t1" });
      await shim.done;
      assert.deepEqual(topics, [
        "/tasks/create",
        "/tasks/start",
        "/tasks/exec-added",
        "/tasks/exec-started",
        "/tasks/exit",
        "/tasks/exit",
        "/tasks/delete",
      ]);
      assert.deepEqual([...Deno.readDirSync(join(dir, "run"))], []);
    } finally {
      await conn.close();
      await shim.shutdown();
      await events.close();
      await evServing;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "Task service: when the pod backend dies, running tasks exit with 137 and are cleaned up",
  ...skipUnless(peers, "task service backend loss"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "shim-loss-" });
    const shim = await serveLocalShim(
      dir,
      "l1",
      Deno.env.get("SHIM_TEST_DEBUG") ? createLogger({ level: "debug" }) : nullLogger,
      () => undefined,
    );
    const conn = await TtrpcClient.connect(shim.address);
    const task = createClient(conn, shimTask.Task);
    try {
      const b = await busyboxBundle(dir, "l1", ["sleep", "1000"]);
      const { pid } = await task.create({ id: "l1", bundle: b });
      await task.start({ id: "l1" });
      const waiting = task.wait({ id: "l1" });
      Deno.kill(pid, "SIGKILL"); // the local agent: what QEMU dying looks like to the shim
      assert.equal((await waiting).exitStatus, 137);
      assert.equal((await task.state({ id: "l1" })).status, 3); // STOPPED
      await task.delete({ id: "l1" });
      await task.shutdown({ id: "l1" });
      await shim.done;
      assert.deepEqual([...Deno.readDirSync(join(dir, "run"))], []);
      // The container the dead agent left behind was killed too (the agent puts it in the
      // cgroup /coco/<id>).
      const left = [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).filter(
        (e) => {
          try {
            return /:\/coco\/l1$/m.test(Deno.readTextFileSync(`/proc/${e.name}/cgroup`));
          } catch {
            return false;
          }
        },
      );
      assert.deepEqual(left, []);
    } finally {
      await conn.close();
      await shim.shutdown();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
