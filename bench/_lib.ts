/** Shared helpers for `deno task bench`: a row type, percentiles and RSS sampling. */

/** One printed line of benchmark figures. `peer` names what the row is compared with. */
export interface BenchRow {
  name: string;
  ops_per_s?: number;
  p50_ms?: number;
  p99_ms?: number;
  rss_mb?: number;
  /** Server process CPU time per operation (ms), where the bench measures a server process. */
  server_cpu_ms_per_op?: number;
  note?: string;
  peer?: string;
}

/** Percentile (0–100) of an unsorted list of numbers, nearest-rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

/** Resident set size of a process (VmHWM = peak, VmRSS = current) in MiB, read from /proc. */
export async function rssMiB(pid: number, which: "VmHWM" | "VmRSS" = "VmHWM"): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const m = status.match(new RegExp(`^${which}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * Runs `run` `iterations` times after a warm-up (a tenth of the iterations, at most 200) and
 * returns throughput and latency percentiles. Works for sync and async bodies.
 */
export async function measure(
  name: string,
  run: () => unknown,
  iterations: number,
  note?: string,
): Promise<BenchRow> {
  const warm = Math.min(200, Math.max(1, Math.floor(iterations / 10)));
  for (let i = 0; i < warm; i++) await run();
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  const total = performance.now() - start;
  return {
    name,
    ops_per_s: Math.round(iterations / (total / 1000)),
    p50_ms: percentile(times, 50),
    p99_ms: percentile(times, 99),
    ...(note ? { note } : {}),
  };
}
