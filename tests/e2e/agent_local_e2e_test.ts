/**
 * The agent as a local process on a unix socket, driven by the host-side AgentClient, with real
 * runc as root: sandbox, container from a busybox rootfs, stdio, exec, signals and exit codes,
 * stats, pause/resume, removal; hostile input (malformed and oversized frames, unknown methods,
 * path escapes, disallowed mounts) refused with the right status and no effect; a policy that
 * denies exec makes exec fail while the rest works.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { create, fromBinary, toBinary, ttrpc } from "@coco/lib/proto";
import { Code, encodeFrame, FrameReader, TtrpcError } from "@coco/lib/ttrpc";
import { AgentClient } from "../../host/agent_client/mod.ts";
import { shareHostMounts } from "../../host/shim/shared_files.ts";
import { findPeers, isRoot, requireAlso, skipUnless } from "../peers.ts";
import { startDeno } from "../harness.ts";

const peers = requireAlso(findPeers("runc", "busybox"), isRoot(), "needs root for runc");
const GUEST_MAIN = new URL("../../guest/main.ts", import.meta.url).pathname;
const enc = new TextEncoder();
const dec = new TextDecoder();

async function busyboxRootfs(dir: string, busybox: string): Promise<void> {
  await Deno.mkdir(join(dir, "bin"), { recursive: true });
  for (const d of ["proc", "dev", "sys", "tmp", "etc"]) await Deno.mkdir(join(dir, d));
  await Deno.copyFile(busybox, join(dir, "bin/busybox"));
  for (const tool of ["sh", "cat", "echo", "sleep", "ls", "true"]) {
    await Deno.symlink("busybox", join(dir, "bin", tool));
  }
}

type MountInit = { destination: string; source: string; type: string; options: string[] };

function spec(rootfs: string, args: string[], mounts: MountInit[] = []) {
  return {
    Version: "1.0.2",
    Process: { Args: args, Env: ["PATH=/bin"], Cwd: "/", User: { UID: 0, GID: 0 } },
    Root: { Path: rootfs },
    Hostname: "e2e",
    Mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: [] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755"] },
      ...mounts,
    ],
    Linux: {
      Namespaces: [{ Type: "pid" }, { Type: "ipc" }, { Type: "uts" }, { Type: "mount" }],
    },
  };
}

async function statusOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof TtrpcError) return err.code;
    throw err;
  }
}

async function readUntil(c: AgentClient, cid: string, eid: string, want: string, err = false) {
  let text = "";
  while (!text.includes(want)) {
    const req = { containerId: cid, execId: eid, len: 4096 };
    const { data } = err ? await c.agent.readStderr(req) : await c.agent.readStdout(req);
    if (data.length === 0) break;
    text += dec.decode(data);
  }
  return text;
}

async function exists(p: string): Promise<boolean> {
  return await Deno.lstat(p).then(() => true, () => false);
}

Deno.test({
  name: "agent on a unix socket runs containers with runc and refuses hostile input",
  ...skipUnless(peers, "agent local e2e"),
  fn: async (t) => {
    const work = await Deno.makeTempDir({ prefix: "agent-e2e-" });
    const base = join(work, "kata");
    const socket = join(work, "agent.sock");
    const cfg = join(work, "agent.toml");
    await Deno.writeTextFile(
      cfg,
      `server_addr = "unix://${socket}"\ncontainer_base = "${base}"\ncdh_socket = ""\n`,
    );
    const rootfs = join(base, "shared/containers/c1/rootfs");
    await busyboxRootfs(rootfs, peers.paths.busybox!);
    const agent = await startDeno({
      args: ["run", "-A", GUEST_MAIN, "agent", "--config", cfg, "--init-mode", "never"],
      ready: /^agent listening on (.+)$/,
      name: "coco-guest agent",
    });
    const c = await AgentClient.connect(`unix://${socket}`);
    try {
      await t.step("Health Check answers SERVING", async () => {
        assert.equal((await c.health.check({})).status, 1);
      });
      await c.agent.createSandbox({ sandboxId: "sb1", hostname: "pod" });

      await t.step("a container reads stdin and writes stdout and stderr", async () => {
        await c.agent.createContainer({
          containerId: "c1",
          execId: "c1",
          OCI: spec(rootfs, ["sh", "-c", "read l; echo got:$l; echo oops >&2; sleep 1000"]),
        });
        await c.agent.startContainer({ containerId: "c1" });
        const w = await c.agent.writeStdin({
          containerId: "c1",
          execId: "c1",
          data: enc.encode("hello\n"),
        });
        assert.equal(w.len, 6);
        assert.match(await readUntil(c, "c1", "c1", "got:hello\n"), /got:hello\n/);
        assert.match(await readUntil(c, "c1", "c1", "oops", true), /oops/);
      });

      await t.step("exec runs in the container and reports its exit code", async () => {
        await c.agent.execProcess({
          containerId: "c1",
          execId: "e1",
          process: { Args: ["sh", "-c", "echo exec-out; exit 3"], Env: ["PATH=/bin"], Cwd: "/" },
        });
        assert.equal(dec.decode(await c.readAll("c1", "e1")), "exec-out\n");
        assert.equal((await c.agent.waitProcess({ containerId: "c1", execId: "e1" })).status, 3);
      });

      await t.step(
        "output read after WaitProcess is still there; then the exec is gone",
        async () => {
          await c.agent.execProcess({
            containerId: "c1",
            execId: "late",
            process: { Args: ["sh", "-c", "echo late-out; exit 4"], Env: ["PATH=/bin"], Cwd: "/" },
          });
          assert.equal(
            (await c.agent.waitProcess({ containerId: "c1", execId: "late" })).status,
            4,
          );
          assert.equal(dec.decode(await c.readAll("c1", "late")), "late-out\n");
          await c.readAll("c1", "late", "stderr");
          // Drained and waited for: forgotten, so the id can be used again.
          await c.agent.execProcess({
            containerId: "c1",
            execId: "late",
            process: { Args: ["sh", "-c", "echo again"], Env: ["PATH=/bin"], Cwd: "/" },
          });
          assert.equal(dec.decode(await c.readAll("c1", "late")), "again\n");
          assert.equal(
            (await c.agent.waitProcess({ containerId: "c1", execId: "late" })).status,
            0,
          );
        },
      );

      await t.step("a signalled exec process exits with 128 + signal", async () => {
        await c.agent.execProcess({
          containerId: "c1",
          execId: "e2",
          process: { Args: ["sleep", "1000"], Env: ["PATH=/bin"], Cwd: "/" },
        });
        await c.agent.signalProcess({ containerId: "c1", execId: "e2", signal: 15 });
        assert.equal((await c.agent.waitProcess({ containerId: "c1", execId: "e2" })).status, 143);
      });

      await t.step("stats, process list, pause and resume", async () => {
        const stats = await c.agent.statsContainer({ containerId: "c1" });
        assert.ok((stats.cgroupStats?.memoryStats?.usage?.usage ?? 0n) > 0n);
        assert.ok((stats.cgroupStats?.pidsStats?.current ?? 0n) >= 1n);
        const ps = dec.decode((await c.agent.listProcesses({ containerId: "c1" })).processList);
        assert.match(ps, /^\d+\n/);
        await c.agent.pauseContainer({ containerId: "c1" });
        await c.agent.resumeContainer({ containerId: "c1" });
      });

      await t.step("hostile input is refused with the right status and no effect", async () => {
        assert.equal(await statusOf(c.agent.getVolumeStats({})), "UNIMPLEMENTED");
        const conn = await Deno.connect({ transport: "unix", path: socket });
        const frames = new FrameReader(conn.readable);
        const w = conn.writable.getWriter();
        const garbage = toBinary(
          ttrpc.RequestSchema,
          create(ttrpc.RequestSchema, {
            service: "grpc.AgentService",
            method: "CreateContainer",
            payload: new Uint8Array([0x0a, 0xff, 0xff]),
          }),
        );
        await w.write(encodeFrame({ streamId: 1, type: 1, flags: 0, payload: garbage }));
        const oversized = new Uint8Array(10);
        new DataView(oversized.buffer).setUint32(0, 5 << 20);
        new DataView(oversized.buffer).setUint32(4, 3);
        oversized[8] = 1;
        await w.write(oversized);
        await w.write(new Uint8Array(5 << 20));
        const codes = new Map<number, number>();
        for (let i = 0; i < 2; i++) {
          const r = await frames.read();
          assert.equal(r?.kind, "frame");
          if (r?.kind !== "frame") break;
          codes.set(
            r.frame.streamId,
            fromBinary(ttrpc.ResponseSchema, r.frame.payload).status!.code,
          );
        }
        assert.equal(codes.get(1), Code.INVALID_ARGUMENT);
        assert.equal(codes.get(3), Code.RESOURCE_EXHAUSTED);
        await w.close();
        await frames.cancel();

        const escape = c.agent.createContainer({
          containerId: "bad1",
          OCI: spec("/etc", ["true"]),
        });
        assert.equal(await statusOf(escape), "INVALID_ARGUMENT");
        assert.equal(await exists(join(base, "bad1")), false);
        const bind = c.agent.createContainer({
          containerId: "bad2",
          OCI: spec(rootfs, ["true"], [{
            destination: "/host",
            source: "/etc",
            type: "bind",
            options: ["rbind"],
          }]),
        });
        assert.equal(await statusOf(bind), "PERMISSION_DENIED");
        assert.equal(await exists(join(base, "bad2")), false);
        const badId = c.agent.createContainer({ containerId: "../x", OCI: spec(rootfs, ["true"]) });
        assert.equal(await statusOf(badId), "INVALID_ARGUMENT");
      });

      await t.step("killing the container gives 137 and removal cleans up", async () => {
        await c.agent.signalProcess({ containerId: "c1", execId: "", signal: 9 });
        assert.equal((await c.agent.waitProcess({ containerId: "c1", execId: "c1" })).status, 137);
        await c.agent.removeContainer({ containerId: "c1" });
        assert.equal(await exists(join(base, "c1")), false);
        assert.equal(await statusOf(c.agent.statsContainer({ containerId: "c1" })), "NOT_FOUND");
      });

      await t.step("a policy denying exec blocks exec while the rest works", async () => {
        const policy = (await Deno.readTextFile(
          new URL("../../guest/agent/policies/default.rego", import.meta.url),
        )).replace(
          "ExecProcessRequest if not confidential(input.container_id)",
          "ExecProcessRequest if false",
        );
        await c.agent.setPolicy({ policy });
        await c.agent.createContainer({
          containerId: "c1",
          OCI: spec(rootfs, ["sh", "-c", "echo hi; sleep 1000"]),
        });
        await c.agent.startContainer({ containerId: "c1" });
        assert.equal(await readUntil(c, "c1", "c1", "hi\n"), "hi\n");
        const exec = c.agent.execProcess({
          containerId: "c1",
          execId: "e3",
          process: { Args: ["true"], Env: ["PATH=/bin"], Cwd: "/" },
        });
        await assert.rejects(exec, (err: unknown) => {
          assert.ok(err instanceof TtrpcError);
          assert.equal(err.code, "PERMISSION_DENIED");
          assert.match(err.message, /ExecProcessRequest is blocked by policy/);
          assert.match(err.message, /data\.agent_policy\.ExecProcessRequest/);
          return true;
        });
        await c.agent.signalProcess({ containerId: "c1", execId: "", signal: 9 });
        assert.equal((await c.agent.waitProcess({ containerId: "c1", execId: "c1" })).status, 137);
      });

      await t.step("host files reach a container through CopyFile (no shared fs)", async () => {
        // The shipped policy, with this agent's base instead of /run/kata-containers.
        const policy = (await Deno.readTextFile(
          new URL("../../guest/agent/policies/default.rego", import.meta.url),
        )).replaceAll("/run/kata-containers/", `${base}/`);
        await c.agent.setPolicy({ policy });
        await c.agent.removeContainer({ containerId: "c1" });
        const hostDir = join(work, "host-files");
        await Deno.mkdir(join(hostDir, "cfg", "..data"), { recursive: true });
        await Deno.writeTextFile(join(hostDir, "hosts"), "10.0.0.7 db\n");
        await Deno.writeTextFile(join(hostDir, "cfg", "..data", "key"), "from-configmap");
        await Deno.symlink("..data/key", join(hostDir, "cfg", "key"));
        const oci = spec(rootfs, ["sh", "-c", "cat /etc/hosts /etc/cfg/key"], [
          {
            destination: "/etc/hosts",
            source: join(hostDir, "hosts"),
            type: "bind",
            options: ["rbind", "ro"],
          },
          {
            destination: "/etc/cfg",
            source: join(hostDir, "cfg"),
            type: "bind",
            options: ["rbind", "ro"],
          },
        ]);
        await shareHostMounts(oci, "c1", base, (r) => c.agent.copyFile(r));
        const binds = oci.Mounts!.filter((m) => m.type === "bind");
        assert.equal(binds.length, 2);
        assert.ok(binds.every((m) => m.source!.startsWith(`${base}/shared/containers/c1-`)));
        await c.agent.createContainer({ containerId: "c1", OCI: oci });
        await c.agent.startContainer({ containerId: "c1" });
        assert.equal(dec.decode(await c.readAll("c1", "c1")), "10.0.0.7 db\nfrom-configmap");
        assert.equal((await c.agent.waitProcess({ containerId: "c1", execId: "c1" })).status, 0);
        await c.agent.removeContainer({ containerId: "c1" });
        // Outside the copy root the policy refuses, and nothing is written.
        const denied = c.agent.copyFile({
          path: `${base}/sandbox/evil`,
          fileSize: 1n,
          fileMode: 0o100644,
          data: new Uint8Array([1]),
        });
        assert.equal(await statusOf(denied), "PERMISSION_DENIED");
        assert.equal(await exists(`${base}/sandbox/evil`), false);
      });

      await t.step("DestroySandbox removes everything and the agent exits", async () => {
        await c.agent.destroySandbox({});
        assert.equal((await agent.child.status).code, 0);
        assert.equal(await exists(join(base, "c1")), false);
      });
    } finally {
      await c.close();
      await agent.stop();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
