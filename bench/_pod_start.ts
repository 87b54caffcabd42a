/**
 * Pod start breakdown for bench/shim.ts: timing `ctr run` to the container's first output byte,
 * reading the shim's `pod start phase` lines back from containerd's log (containerd 1.6 copies
 * the shim's log FIFO into its stderr), and per-phase p50/p99 rows.
 */
import type { PrivateContainerd } from "../host/shim/_containerd_harness.ts";
import { parsePhaseLine, POD_START_PHASES, type PodStartPhase } from "../host/shim/phases.ts";
import { type BenchRow, percentile } from "./_lib.ts";

/** Runs from an environment variable (a positive integer), else `fallback`. */
export function runsFromEnv(name: string, fallback: number): number {
  const v = Number(Deno.env.get(name) ?? "");
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

/** One timed `ctr run`: ms to the first output byte (process running) and to exit. */
export interface RunTiming {
  first: number;
  total: number;
}

/** `ctr run <extra> --rm IMAGE id echo hi`; checks the output is `hi`. */
export async function timeCtrRun(
  cd: PrivateContainerd,
  extra: string[],
  image: string,
  id: string,
): Promise<RunTiming> {
  const t0 = performance.now();
  const child = new Deno.Command("ctr", {
    args: ["-a", cd.socket, "run", ...extra, "--rm", image, id, "echo", "hi"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const err = new Response(child.stderr).text();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const first = performance.now() - t0;
  while (!(await reader.read()).done) { /* drain */ }
  await child.status;
  const total = performance.now() - t0;
  const out = new TextDecoder().decode(value);
  if (out !== "hi\n") {
    throw new Error(`ctr run ${id} printed ${JSON.stringify(out)}: ${await err}`);
  }
  await err;
  return { first, total };
}

/** Phase durations per shim id, read from containerd's log. */
export function phasesById(log: string): Map<string, Partial<Record<PodStartPhase, number>>> {
  const out = new Map<string, Partial<Record<PodStartPhase, number>>>();
  for (const line of log.split("\n")) {
    const rec = parsePhaseLine(line);
    if (!rec?.shim) continue;
    const m = out.get(rec.shim) ?? {};
    m[rec.phase] ??= rec.ms;
    out.set(rec.shim, m);
  }
  return out;
}

/** p50/p99 rows: `ctr run` to running and to exit, then one per phase (from the log). */
export function breakdownRows(
  label: string,
  ids: string[],
  timings: RunTiming[],
  log: string,
  note: string,
): BenchRow[] {
  const byId = phasesById(log);
  const rows: BenchRow[] = [
    row(`${label}: ctr run → process running`, timings.map((t) => t.first), note),
    row(`${label}: ctr run --rm → exited`, timings.map((t) => t.total), note),
  ];
  for (const phase of POD_START_PHASES) {
    const v = ids.map((id) => byId.get(id)?.[phase]).filter((x): x is number => x !== undefined);
    const missing = ids.length - v.length;
    rows.push(row(`${label}:   ${phase}`, v, missing ? `${missing} run(s) without this line` : ""));
  }
  return rows;
}

function row(name: string, values: number[], note: string): BenchRow {
  return {
    name,
    p50_ms: round(percentile(values, 50)),
    p99_ms: round(percentile(values, 99)),
    ...(note ? { note } : {}),
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** One series of runs: its id prefix and the extra `ctr run` arguments (e.g. `--runtime`). */
export interface SeriesSpec {
  prefix: string;
  extra: string[];
}

/**
 * Runs `n` timed `ctr run`s per series with ids `<prefix><i>`, after `warmup` untimed rounds.
 * The series take turns run by run, so load from elsewhere on the machine hits each alike.
 */
export async function ctrSeries(
  cd: PrivateContainerd,
  image: string,
  specs: SeriesSpec[],
  n: number,
  warmup = 0,
): Promise<{ ids: string[]; timings: RunTiming[] }[]> {
  for (let i = 0; i < warmup; i++) {
    for (const s of specs) await timeCtrRun(cd, s.extra, image, `${s.prefix}w${i}`);
  }
  const out = specs.map(() => ({ ids: [] as string[], timings: [] as RunTiming[] }));
  for (let i = 0; i < n; i++) {
    for (const [k, s] of specs.entries()) {
      const id = `${s.prefix}${i}`;
      out[k]!.timings.push(await timeCtrRun(cd, s.extra, image, id));
      out[k]!.ids.push(id);
    }
  }
  return out;
}
