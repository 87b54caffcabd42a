/**
 * Task/Stats: the agent's `StatsContainerResponse` (cgroup stats from the guest) as the
 * `io.containerd.cgroups.v1.Metrics` protobuf that `ctr task metrics` and the CRI decode, wrapped
 * in an `Any` with the bare proto name as type URL (what containerd's typeurl registry uses).
 */
import { toBinary } from "@bufbuild/protobuf";
import { type agent, cgroupsV1, create } from "@coco/lib/proto";

/** Converts the agent's stats to a cgroups v1 `Metrics` Any. */
export function metricsAny(
  stats: agent.StatsContainerResponse,
): { typeUrl: string; value: Uint8Array } {
  const cg = stats.cgroupStats;
  const cpu = cg?.cpuStats;
  const mem = cg?.memoryStats;
  const entry = (d: agent.MemoryData | undefined) =>
    d ? { limit: d.limit, usage: d.usage, max: d.maxUsage, failcnt: d.failcnt } : undefined;
  const m = create(cgroupsV1.MetricsSchema, {
    ...(cg?.pidsStats
      ? { pids: { current: cg.pidsStats.current, limit: cg.pidsStats.limit } }
      : {}),
    ...(cpu
      ? {
        cpu: {
          ...(cpu.cpuUsage
            ? {
              usage: {
                total: cpu.cpuUsage.totalUsage,
                kernel: cpu.cpuUsage.usageInKernelmode,
                user: cpu.cpuUsage.usageInUsermode,
                perCpu: cpu.cpuUsage.percpuUsage,
              },
            }
            : {}),
          ...(cpu.throttlingData
            ? {
              throttling: {
                periods: cpu.throttlingData.periods,
                throttledPeriods: cpu.throttlingData.throttledPeriods,
                throttledTime: cpu.throttlingData.throttledTime,
              },
            }
            : {}),
        },
      }
      : {}),
    ...(mem
      ? {
        memory: {
          cache: mem.cache,
          rss: mem.stats["rss"] ?? 0n,
          mappedFile: mem.stats["mapped_file"] ?? 0n,
          totalCache: mem.stats["total_cache"] ?? 0n,
          totalRss: mem.stats["total_rss"] ?? 0n,
          ...(mem.usage ? { usage: entry(mem.usage) } : {}),
          ...(mem.swapUsage ? { swap: entry(mem.swapUsage) } : {}),
          ...(mem.kernelUsage ? { kernel: entry(mem.kernelUsage) } : {}),
        },
      }
      : {}),
  });
  return { typeUrl: cgroupsV1.MetricsSchema.typeName, value: toBinary(cgroupsV1.MetricsSchema, m) };
}
