/**
 * Pod VM benchmark (one QEMU VM, TCG here, KVM where it works; see tests/e2e/_vm_fixture.ts):
 * boot to agent-ready (PodVm.start → first Health.Check answer), CreateContainer → process
 * running (first stdout byte via ReadStdout) with a fresh in-guest pull and with the image
 * already pulled, the agent's RSS and the guest's used memory (GetMetrics). Needs root, QEMU,
 * docker-registry, skopeo, umoci and a Debian kernel.
 */
import { type AgentClient } from "../host/agent_client/mod.ts";
import { pulled, readUntil, spec, startVmFixture, vmPeers } from "../tests/e2e/_vm_fixture.ts";
import { type BenchRow, percentile } from "./_lib.ts";

const TAGS = ["1", "2", "3"];
const CACHED_RUNS = 4;

async function runOnce(c: AgentClient, cid: string, image: string): Promise<number> {
  const t0 = performance.now();
  await c.agent.createContainer({
    containerId: cid,
    execId: cid,
    storages: pulled(cid, image),
    OCI: spec(cid, ["sh", "-c", "echo up; exec sleep 1000"]),
  });
  await c.agent.startContainer({ containerId: cid });
  await readUntil(c, cid, cid, "up");
  const ms = performance.now() - t0;
  await c.agent.signalProcess({ containerId: cid, execId: "", signal: 9 });
  await c.agent.waitProcess({ containerId: cid, execId: cid });
  await c.agent.removeContainer({ containerId: cid });
  return ms;
}

function row(name: string, times: number[], note: string): BenchRow {
  return { name, p50_ms: percentile(times, 50), p99_ms: percentile(times, 99), note };
}

/** Runs the benchmark. */
export async function bench(): Promise<BenchRow[]> {
  const peers = vmPeers();
  if (!peers.ok) return [{ name: "vm", note: `skipped: ${peers.reason}` }];
  const fx = await startVmFixture(peers, { tags: TAGS, watchdogMs: 600_000 });
  try {
    const c = fx.client;
    await c.health.check({});
    const boot = performance.now() - fx.bootStart;
    const accel = fx.vm.accel;
    await c.agent.createSandbox({ sandboxId: "bench", hostname: "bench" });
    const eth0 = (await c.agent.listInterfaces({})).Interfaces.find((i) => i.name === "eth0");
    await c.agent.updateInterface({
      interface: {
        name: "eth0",
        hwAddr: eth0?.hwAddr ?? "",
        IPAddresses: [{ address: "10.0.2.15", mask: "24" }],
      },
    });
    const fresh: number[] = [];
    const cached: number[] = [];
    let n = 0;
    for (const image of fx.images) {
      fresh.push(await runOnce(c, `b${n++}`, image));
      for (let i = 0; i < CACHED_RUNS; i++) cached.push(await runOnce(c, `b${n++}`, image));
    }
    const { metrics } = await c.agent.getMetrics({});
    const num = (re: RegExp) => Number(metrics.match(re)?.[1] ?? NaN) / (1 << 20);
    const rss = num(/^kata_agent_process_resident_memory_bytes (\d+)$/m);
    const total = num(/^kata_guest_meminfo\{item="MemTotal"\} (\d+)$/m);
    const avail = num(/^kata_guest_meminfo\{item="MemAvailable"\} (\d+)$/m);
    await c.agent.destroySandbox({});
    await fx.vm.exited;
    return [
      { name: "vm boot → agent ready", p50_ms: boot, note: `1 boot, ${accel}, 1 GiB, 2 vCPU` },
      row(
        "vm CreateContainer → running (fresh pull)",
        fresh,
        `${fresh.length} images, 1 layer busybox`,
      ),
      row("vm CreateContainer → running (pulled)", cached, `${cached.length} runs`),
      { name: "vm agent RSS", rss_mb: rss, note: "in the guest (GetMetrics)" },
      {
        name: "vm guest memory used",
        rss_mb: total - avail,
        note: `MemTotal - MemAvailable of ${total.toFixed(0)} MiB`,
      },
    ];
  } finally {
    await fx.close();
  }
}
