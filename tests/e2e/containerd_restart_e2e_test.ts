/**
 * Fault: containerd restarts while tasks run (issue 7). A private containerd 1.6 runs two
 * long-lived tasks with our shim (`hypervisor.type = "none"`: the agent as a local process with
 * real runc; NOT confidential), their output going to a `binary://` logger (`ctr run --log-uri`).
 * containerd is SIGKILLed; while it is down one container's process is killed from the host
 * (the shim records the exit — shown by asking the shim itself over ttrpc — and its TaskExit
 * cannot be delivered). containerd is then started again on the same root, state and sockets:
 * it reconnects to the running shims (bundle `address`), receives the retried TaskExit (its
 * debug log shows `event forwarded … topic=/tasks/exit`), lists the tasks with the right states,
 * exec works, kill + delete work and deliver their events, and nothing is left behind.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { shimTask } from "@coco/lib/proto";
import { loadSys } from "@coco/lib/sys";
import { createClient, TtrpcClient } from "@coco/lib/ttrpc";
import {
  buildBusyboxArchive,
  type PrivateContainerd,
  startContainerd,
} from "../../host/shim/_containerd_harness.ts";
import { findPeers, isRoot, requireAlso, skipUnless } from "../peers.ts";
import {
  assertNoBackendLeft,
  containerdPid,
  killProcessesNaming,
  pidsRunning,
  restartContainerd,
  type RestartedContainerd,
  shimConfigs,
} from "./_containerd_fixture.ts";

const peers = requireAlso(
  findPeers("containerd", "ctr", "runc", "umoci", "skopeo", "busybox"),
  isRoot(),
  "needs root for containerd and runc",
);
const HOST_MAIN = new URL("../../host/main.ts", import.meta.url).pathname;
const IMAGE = "docker.io/library/tinybusybox:latest";
loadSys();

/** A logger (containerd's binary:// protocol) appending fds 3 and 4 to `<dir>/<CONTAINER_ID>.log`. */
const LOGGER = `#!/bin/sh
PATH=/usr/bin:/bin
[ "$1" = --dir ] || exit 2
exec 5>&-
cat <&3 >> "$2/$CONTAINER_ID.log" &
cat <&4 >> "$2/$CONTAINER_ID.log"
wait
`;

/** Lines of `ctr task ls` as id → status. */
function taskStates(out: string): Record<string, string> {
  const states: Record<string, string> = {};
  for (const line of out.trim().split("\n").slice(1)) {
    const [id, , status] = line.trim().split(/\s+/);
    if (id && status) states[id] = status;
  }
  return states;
}

/** Reads the shim's `log` FIFO in the bundle (containerd's end, while it is down) until `re`. */
async function readLogUntil(path: string, re: RegExp): Promise<string> {
  const f = await Deno.open(path, { read: true });
  try {
    const dec = new TextDecoder();
    const buf = new Uint8Array(4096);
    let text = "";
    while (!re.test(text)) {
      const n = await f.read(buf);
      if (n === null) throw new Error(`shim log ended before ${re}:\n${text}`);
      text += dec.decode(buf.subarray(0, n), { stream: true });
      if (/ERROR event lost/.test(text)) throw new Error(`the shim dropped an event:\n${text}`);
    }
    return text;
  } finally {
    f.close();
  }
}

const forwarded = (topic: string, n: number) =>
  new RegExp(
    `(msg="event forwarded" ns=default topic=${topic.replaceAll("/", "\\/")}[^\\n]*\\n[^]*){${n}}`,
  );

Deno.test({
  name:
    "containerd restart: the shim keeps its tasks, reconnects, and delivers an exit that happened meanwhile",
  ...skipUnless(peers, "containerd restart e2e"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ctrd-restart-" });
    let cd: PrivateContainerd | undefined;
    let cd2: RestartedContainerd | undefined;
    let passed = false;
    // Unique arguments, so the host's process list tells this run's containers apart.
    const sleep1 = String(100_000 + Math.floor(Math.random() * 800_000));
    const sleep2 = String(Number(sleep1) + 1);
    try {
      const tar = await buildBusyboxArchive(dir, peers.paths.busybox!);
      cd = await startContainerd(dir);
      const c = cd;
      const imp = await c.ctr([
        "images",
        "import",
        "--base-name",
        "docker.io/library/tinybusybox",
        tar,
      ]);
      assert.equal(imp.code, 0, imp.stderr);
      const { none } = await shimConfigs(dir, HOST_MAIN, 1);
      const logger = join(dir, "logger.sh");
      await Deno.writeTextFile(logger, LOGGER, { mode: 0o755 });
      await Deno.mkdir(join(dir, "logs"));
      const logUri = `binary://${logger}?--dir=${join(dir, "logs")}`;
      for (const [id, n] of [["r1", sleep1], ["r2", sleep2]] as const) {
        const r = await c.ctr([
          "run",
          "-d",
          "--runtime",
          none,
          "--log-uri",
          logUri,
          IMAGE,
          id,
          "sh",
          "-c",
          `echo ${id}-started; exec sleep ${n}`,
        ]);
        assert.equal(r.code, 0, r.stderr);
      }
      assert.deepEqual(taskStates((await c.ctr(["task", "ls"])).stdout), {
        r1: "RUNNING",
        r2: "RUNNING",
      });

      // containerd dies; the shims and their tasks do not.
      Deno.kill(await containerdPid(dir), "SIGKILL");
      await c.stop();
      const [sleeper, other] = await pidsRunning(["sleep", sleep2]);
      assert.equal(other, undefined, "one process runs sleep " + sleep2);
      assert.ok(sleeper, "r2's process still runs after containerd died");
      Deno.kill(sleeper, "SIGKILL");
      // Ask r2's shim directly: it recorded the exit (its TaskExit is now queued, undeliverable).
      const bundle = (id: string) => join(dir, "state/io.containerd.runtime.v2.task/default", id);
      const shim = await TtrpcClient.connect(
        (await Deno.readTextFile(join(bundle("r2"), "address"))).trim(),
      );
      try {
        const waited = await createClient(shim, shimTask.Task).wait({ id: "r2" });
        assert.equal(waited.exitStatus, 137);
      } finally {
        await shim.close();
      }

      // Keep containerd down until the shim tried to deliver that exit more often than a
      // publisher giving up after 5 tries (and the publish-binary fallback) would have.
      await readLogUntil(
        join(bundle("r2"), "log"),
        /event forward failed .*topic=\/tasks\/exit try=7 /,
      );
      cd2 = await restartContainerd(dir);
      const down = cd2.status;
      // The exit that happened while containerd was down reaches the new one.
      await cd2.log.waitFor(forwarded("/tasks/exit", 1), down);
      assert.deepEqual(taskStates((await c.ctr(["task", "ls"])).stdout), {
        r1: "RUNNING",
        r2: "STOPPED",
      });
      const ex = await c.ctr([
        "task",
        "exec",
        "--exec-id",
        "x1",
        "r1",
        "sh",
        "-c",
        "echo exec-ok; exit 6",
      ]);
      assert.equal(ex.stdout, "exec-ok\n", ex.stderr);
      assert.equal(ex.code, 6);

      const kill = await c.ctr(["task", "kill", "-s", "SIGKILL", "r1"]);
      assert.equal(kill.code, 0, kill.stderr);
      await cd2.log.waitFor(forwarded("/tasks/exit", 3), down); // exec x1, then r1
      for (const id of ["r1", "r2"]) {
        const del = await c.ctr(["task", "delete", id]);
        assert.equal(del.code, 0, del.stderr);
        const rm = await c.ctr(["containers", "rm", id]);
        assert.equal(rm.code, 0, rm.stderr);
      }
      await cd2.log.waitFor(forwarded("/tasks/delete", 2), down);
      assert.equal((await c.ctr(["task", "ls", "-q"])).stdout.trim(), "");
      // The binary:// logger got each container's output (it exits before TaskExit is sent).
      assert.equal(await Deno.readTextFile(join(dir, "logs/r1.log")), "r1-started\n");
      assert.equal(await Deno.readTextFile(join(dir, "logs/r2.log")), "r2-started\n");

      await assertNoBackendLeft(dir);
      assert.deepEqual(
        [...Deno.readDirSync(join(dir, "s"))].map((e) => e.name),
        [],
        "shim sockets",
      );
      const mounts = await Deno.readTextFile("/proc/self/mountinfo");
      assert.equal(mounts.includes(dir), false, "no mount left under the test dir");
      assert.deepEqual(await pidsRunning(["sleep", sleep1]), []);
      passed = true;
    } catch (err) {
      if (cd2) console.error(cd2.log.text().slice(-6000));
      throw err;
    } finally {
      await cd2?.stop();
      await cd?.stop();
      for (const n of [sleep1, sleep2]) {
        for (const pid of await pidsRunning(["sleep", n])) Deno.kill(pid, "SIGKILL");
      }
      const strays = await killProcessesNaming(dir);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      if (passed) assert.deepEqual(strays, [], "no process naming the test dir was left running");
    }
  },
});
