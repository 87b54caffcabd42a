/**
 * Terminal processes with real runc (root): the container's init and an exec get a pty whose
 * master arrives over runc's --console-socket; output is read through it, TtyWinResize sizes it.
 * The agent runs in this process on a unix socket.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { nullLogger } from "@coco/lib/log";
import { agent, create, health } from "@coco/lib/proto";
import { loadSys } from "@coco/lib/sys";
import { createClient, TtrpcClient } from "@coco/lib/ttrpc";
import { findPeers, isRoot, requireAlso, skipUnless } from "../../tests/peers.ts";
import { DEFAULT_AGENT_CONFIG } from "./config.ts";
import { startAgent } from "./start.ts";

loadSys();
const peers = requireAlso(findPeers("runc", "busybox"), isRoot(), "needs root for runc");
const dec = new TextDecoder();
const agentClient = (conn: TtrpcClient) => createClient(conn, agent.AgentService);
type Client = ReturnType<typeof agentClient>;

async function readUntil(
  c: Client,
  cid: string,
  eid: string,
  want: RegExp,
) {
  let text = "";
  while (!want.test(text)) {
    const { data } = await c.readStdout({ containerId: cid, execId: eid, len: 4096 });
    if (data.length === 0) break;
    text += dec.decode(data);
  }
  return text;
}

Deno.test({
  name: "Terminal processes get a pty from runc; TtyWinResize sizes it",
  ...skipUnless(peers, "agent tty"),
  fn: async () => {
    const work = await Deno.makeTempDir({ prefix: "agent-tty-" });
    const base = join(work, "kata");
    const rootfs = join(base, "shared/containers/t1/rootfs");
    await Deno.mkdir(join(rootfs, "bin"), { recursive: true });
    for (const d of ["proc", "dev", "sys", "tmp"]) await Deno.mkdir(join(rootfs, d));
    await Deno.copyFile(peers.paths.busybox!, join(rootfs, "bin/busybox"));
    for (const t of ["sh", "tty", "stty", "sleep", "echo"]) {
      await Deno.symlink("busybox", join(rootfs, "bin", t));
    }
    const running = await startAgent({
      config: {
        ...DEFAULT_AGENT_CONFIG,
        serverAddr: `unix://${join(work, "agent.sock")}`,
        containerBase: base,
        cdhSocket: "",
      },
      logger: nullLogger,
    });
    const conn = await TtrpcClient.connect(running.address);
    const c = agentClient(conn);
    try {
      assert.equal((await createClient(conn, health.Health).check({})).status, 1);
      await c.createSandbox({ sandboxId: "tty" });
      const process = (args: string[]) => ({
        Terminal: true,
        Args: args,
        Env: ["PATH=/bin", "TERM=dumb"],
        Cwd: "/",
        User: { UID: 0, GID: 0 },
      });
      await c.createContainer(create(agent.CreateContainerRequestSchema, {
        containerId: "t1",
        execId: "t1",
        OCI: {
          Version: "1.0.2",
          Process: process(["sh", "-c", "tty; echo init-on-tty; exec sleep 1000"]),
          Root: { Path: rootfs },
          Mounts: [
            { destination: "/proc", type: "proc", source: "proc", options: [] },
            { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["mode=755"] },
            {
              destination: "/dev/pts",
              type: "devpts",
              source: "devpts",
              options: ["newinstance", "ptmxmode=0666"],
            },
          ],
          Linux: {
            Namespaces: [{ Type: "pid" }, { Type: "ipc" }, { Type: "uts" }, { Type: "mount" }],
          },
        },
      }));
      await c.startContainer({ containerId: "t1" });
      const out = await readUntil(c, "t1", "t1", /init-on-tty/);
      assert.match(out, /\/dev\/pts\/\d+/);
      assert.equal(
        (await c.readStderr({ containerId: "t1", execId: "t1", len: 100 })).data.length,
        0,
      );

      await c.execProcess({
        containerId: "t1",
        execId: "x1",
        process: process(["sh", "-c", "read x; stty size"]),
      });
      await c.ttyWinResize({ containerId: "t1", execId: "x1", row: 33, column: 101 });
      await c.writeStdin({
        containerId: "t1",
        execId: "x1",
        data: new TextEncoder().encode("go\n"),
      });
      assert.match(await readUntil(c, "t1", "x1", /33 101/), /33 101/);
      assert.equal((await c.waitProcess({ containerId: "t1", execId: "x1" })).status, 0);

      await c.signalProcess({ containerId: "t1", execId: "", signal: 9 });
      assert.equal((await c.waitProcess({ containerId: "t1", execId: "t1" })).status, 137);
      await c.removeContainer({ containerId: "t1" });
    } finally {
      await conn.close();
      await running.close();
      await Deno.remove(work, { recursive: true }).catch(() => {});
    }
  },
});
