/**
 * Agent benchmark: CreateContainer → process running (its first stdout byte read through
 * ReadStdout) with runc, the agent as a local process on a unix socket, rootfs already present
 * (shared-directory rootfs; no pull). Also the agent's peak RSS. Needs root and runc.
 */
import { join } from "node:path";
import { AgentClient } from "../host/agent_client/mod.ts";
import { startDeno } from "../tests/harness.ts";
import { findPeers, isRoot } from "../tests/peers.ts";
import { type BenchRow, percentile, rssMiB } from "./_lib.ts";

const RUNS = 10;

/** Runs the benchmark. */
export async function bench(): Promise<BenchRow[]> {
  const peers = findPeers("runc", "busybox");
  if (!peers.ok || !isRoot()) {
    return [{ name: "agent", note: `skipped: ${peers.reason || "needs root"}` }];
  }
  const work = await Deno.makeTempDir({ prefix: "agent-bench-" });
  const base = join(work, "kata");
  const socket = join(work, "agent.sock");
  await Deno.writeTextFile(
    join(work, "agent.toml"),
    `server_addr = "unix://${socket}"\ncontainer_base = "${base}"\ncdh_socket = ""\n`,
  );
  const agentProc = await startDeno({
    args: [
      "run",
      "-A",
      "guest/main.ts",
      "agent",
      "--config",
      join(work, "agent.toml"),
      "--init-mode",
      "never",
    ],
    ready: /^agent listening on/,
  });
  const c = await AgentClient.connect(`unix://${socket}`);
  const times: number[] = [];
  try {
    await c.agent.createSandbox({ sandboxId: "bench" });
    for (let i = 0; i < RUNS; i++) {
      const cid = `b${i}`;
      const rootfs = join(base, "shared/containers", cid, "rootfs");
      await Deno.mkdir(join(rootfs, "bin"), { recursive: true });
      for (const d of ["proc", "dev"]) await Deno.mkdir(join(rootfs, d));
      await Deno.copyFile(peers.paths.busybox!, join(rootfs, "bin/busybox"));
      await Deno.symlink("busybox", join(rootfs, "bin/sh"));
      const t0 = performance.now();
      await c.agent.createContainer({
        containerId: cid,
        OCI: {
          Process: { Args: ["/bin/sh", "-c", "echo up; read x"], Env: ["PATH=/bin"], Cwd: "/" },
          Root: { Path: rootfs },
          Mounts: [{ destination: "/proc", type: "proc", source: "proc" }],
          Linux: {
            Namespaces: [{ Type: "pid" }, { Type: "mount" }, { Type: "ipc" }, { Type: "uts" }],
          },
        },
      });
      await c.agent.startContainer({ containerId: cid });
      await c.agent.readStdout({ containerId: cid, execId: cid, len: 16 });
      times.push(performance.now() - t0);
      await c.agent.removeContainer({ containerId: cid });
    }
    const rss = await rssMiB(agentProc.child.pid);
    await c.agent.destroySandbox({});
    return [{
      name: "agent CreateContainer→running (runc, local)",
      ops_per_s: 1000 / (times.reduce((a, b) => a + b, 0) / times.length),
      p50_ms: percentile(times, 50),
      p99_ms: percentile(times, 99),
      rss_mb: rss,
      note: `${RUNS} containers; RSS = agent peak`,
      peer: "runc",
    }];
  } finally {
    await c.close();
    await agentProc.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) console.log(await bench());
