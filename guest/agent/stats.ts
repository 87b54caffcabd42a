/**
 * Converts `runc events --stats` output (runc's `types.Stats`, read from the container's
 * cgroups) into the agent API's `StatsContainerResponse`.
 */
import type { agent, MessageInitShape } from "@coco/lib/proto";

type Obj = Record<string, unknown>;

const o = (v: unknown): Obj => (typeof v === "object" && v !== null ? v as Obj : {});
const u = (v: unknown): bigint =>
  typeof v === "number" && Number.isFinite(v) && v >= 0 ? BigInt(Math.trunc(v)) : 0n;

function mem(v: unknown) {
  const m = o(v);
  return { usage: u(m.usage), maxUsage: u(m.max), failcnt: u(m.failcnt), limit: u(m.limit) };
}

function blkio(v: unknown) {
  return (Array.isArray(v) ? v : []).map((e) => {
    const x = o(e);
    return {
      major: u(x.major),
      minor: u(x.minor),
      op: typeof x.op === "string" ? x.op : "",
      value: u(x.value),
    };
  });
}

/** `StatsContainerResponse` from one runc stats event (`{type: "stats", data: {...}}`). */
export function statsFromRunc(
  event: unknown,
): MessageInitShape<typeof agent.StatsContainerResponseSchema> {
  const d = o(o(event).data);
  const cpu = o(d.cpu);
  const usage = o(cpu.usage);
  const thr = o(cpu.throttling);
  const memory = o(d.memory);
  const raw = o(memory.raw);
  const stats: Record<string, bigint> = {};
  for (const [k, v] of Object.entries(raw)) stats[k] = u(v);
  const pids = o(d.pids);
  const b = o(d.blkio);
  const hugetlb: Record<string, { usage: bigint; maxUsage: bigint; failcnt: bigint }> = {};
  for (const [k, v] of Object.entries(o(d.hugetlb))) {
    const h = o(v);
    hugetlb[k] = { usage: u(h.usage), maxUsage: u(h.max), failcnt: u(h.failcnt) };
  }
  return {
    cgroupStats: {
      cpuStats: {
        cpuUsage: {
          totalUsage: u(usage.total),
          percpuUsage: (Array.isArray(usage.percpu) ? usage.percpu : []).map(u),
          usageInKernelmode: u(usage.kernel),
          usageInUsermode: u(usage.user),
        },
        throttlingData: {
          periods: u(thr.periods),
          throttledPeriods: u(thr.throttledPeriods),
          throttledTime: u(thr.throttledTime),
        },
      },
      memoryStats: {
        cache: u(memory.cache),
        usage: mem(memory.usage),
        swapUsage: mem(memory.swap),
        kernelUsage: mem(memory.kernel),
        useHierarchy: memory.use_hierarchy === true,
        stats,
      },
      pidsStats: { current: u(pids.current), limit: u(pids.limit) },
      blkioStats: {
        ioServiceBytesRecursive: blkio(b.ioServiceBytesRecursive),
        ioServicedRecursive: blkio(b.ioServicedRecursive),
        ioQueuedRecursive: blkio(b.ioQueueRecursive),
        ioServiceTimeRecursive: blkio(b.ioServiceTimeRecursive),
        ioWaitTimeRecursive: blkio(b.ioWaitTimeRecursive),
        ioMergedRecursive: blkio(b.ioMergedRecursive),
        ioTimeRecursive: blkio(b.ioTimeRecursive),
        sectorsRecursive: blkio(b.sectorsRecursive),
      },
      hugetlbStats: hugetlb,
    },
  };
}
