/**
 * KBS benchmark: full flows (RCAR auth + attest + resource fetch with the session cookie, sample
 * TEE) against the bundled trustee running as child processes on loopback, with the load coming
 * from a separate process (`kbs_load.ts`). Two set-ups, each at 1, 32 and 256 concurrent
 * clients: one replica with the default LocalFs storage, and two replicas sharing PostgreSQL
 * (calls of one flow alternate replicas, as behind a round-robin balancer). Prints flows/s,
 * p50/p99, the error count, the trustees' peak RSS, and CPU per flow: the servers' (process CPU
 * time from /proc/<pid>/stat over the run ÷ flows, the "server CPU ms/op" column) and the load
 * generator's, so what one replica can do per core is visible even when client and server share
 * the cores.
 *
 * Knobs (environment): `KBS_BENCH_MS` (run length, default 6000), `KBS_BENCH_CONC` (comma list of
 * client counts, default `1,32,256`), `KBS_BENCH_SETUPS` (`local`, `pg` or both, default both),
 * `KBS_BENCH_TRUSTEE` (entry to run, default the bundle `dist/trustee.js`), `KBS_BENCH_PROF` (a
 * directory: the replicas run with `--cpu-prof` and write their profiles there on exit),
 * `KBS_BENCH_RVS` (reference values registered before the run, default 0; every `/attest` reads
 * them all).
 * For PostgreSQL the notes also give the database server's CPU per flow (postmaster + backends).
 */
import { cryptoBackend } from "@coco/lib/jose";
import { type BenchRow, rssMiB } from "./_lib.ts";
import { startDeno, type Started } from "../tests/harness.ts";
import {
  adminCall,
  type ClusterStorage,
  writeClusterConfig,
} from "../trustee/kbs/cluster_testing.ts";
import {
  postgresPeers,
  startPostgres,
  type TestPostgres,
} from "../trustee/storage/test_servers.ts";

const ALLOW =
  'package policy\nimport rego.v1\ndefault allow := false\nallow if data.plugin == "resource"\n';
const PATH = "bench/key/1";
const CONCURRENCY = (Deno.env.get("KBS_BENCH_CONC") ?? "1,32,256").split(",").map(Number);
const DURATION_MS = Number(Deno.env.get("KBS_BENCH_MS") ?? 6000);
const SETUPS = (Deno.env.get("KBS_BENCH_SETUPS") ?? "local,pg").split(",");
const TRUSTEE = Deno.env.get("KBS_BENCH_TRUSTEE") ?? "dist/trustee.js";
const PROF_DIR = Deno.env.get("KBS_BENCH_PROF");
const RVS = Number(Deno.env.get("KBS_BENCH_RVS") ?? 0);

/** CPU time of `pid` and its direct children (a PostgreSQL postmaster and its backends), in ms. */
async function treeCpuMs(pid: number): Promise<number> {
  let total = await processCpuMs(pid);
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) total += await processCpuMs(Number(e.name));
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

interface LoadResult {
  flows: number;
  errors: number;
  secs: number;
  p50_ms: number;
  p99_ms: number;
  /** The load generator's own CPU time over the run (ms). */
  cpu_ms: number;
  firstError?: string;
}

/** CPU time (user + system, all threads) a process has used so far, in ms. */
export async function processCpuMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // USER_HZ = 100 on Linux
}

async function load(urls: string[], concurrency: number, ms: number): Promise<LoadResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./kbs_load.ts", import.meta.url).pathname,
      urls.join(","),
      String(concurrency),
      String(ms),
      PATH,
    ],
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`load generator failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(text.split("\n").pop()!) as LoadResult;
}

async function cluster(
  name: string,
  storage: (dir: string) => ClusterStorage,
  replicas: number,
  dbPid?: number,
): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "kbs-bench-" });
  const procs: Started[] = [];
  const rows: BenchRow[] = [];
  try {
    const { configPath, adminToken } = await writeClusterConfig(dir, storage(dir));
    for (let i = 0; i < replicas; i++) {
      procs.push(
        await startDeno({
          name: `trustee ${i}`,
          args: [
            "run",
            "-A",
            ...(PROF_DIR ? ["--cpu-prof", `--cpu-prof-dir=${PROF_DIR}`] : []),
            TRUSTEE,
            "serve",
            "-c",
            configPath,
          ],
          ready: /trustee listening on (http:\/\/\S+)/,
          env: { COCO_LOG: "warn" },
        }),
      );
    }
    const urls = procs.map((p) => p.match[1]!);
    const policy = new TextEncoder().encode(ALLOW).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
    await adminCall(
      urls[0]!,
      adminToken,
      "POST",
      "/kbs/v0/resource-policy",
      JSON.stringify({ policy }),
    );
    await adminCall(urls[0]!, adminToken, "POST", `/kbs/v0/resource/${PATH}`, "x".repeat(64));
    if (RVS > 0) {
      const values = Object.fromEntries(
        Array.from({ length: RVS }, (_, i) => [`bench-rv-${i}`, [`value-${i}`]]),
      );
      const payload = btoa(JSON.stringify(values));
      await adminCall(
        urls[0]!,
        adminToken,
        "POST",
        "/kbs/v0/reference-value",
        JSON.stringify({ version: "0.1.0", type: "sample", payload }),
      );
    }
    await load(urls, 8, 1500); // warm-up (JIT, pools)
    const serverCpu = async () => {
      const all = await Promise.all(procs.map((p) => processCpuMs(p.child.pid)));
      return all.reduce((a, b) => a + b, 0);
    };
    for (const conc of CONCURRENCY) {
      const cpu0 = await serverCpu();
      const db0 = dbPid === undefined ? 0 : await treeCpuMs(dbPid);
      const r = await load(urls, conc, DURATION_MS);
      const cpu = (await serverCpu()) - cpu0;
      const db = dbPid === undefined ? 0 : (await treeCpuMs(dbPid)) - db0;
      const rss = await Promise.all(procs.map((p) => rssMiB(p.child.pid)));
      const perFlow = (ms: number) => (r.flows > 0 ? ms / r.flows : NaN);
      rows.push({
        name: `kbs full flow, ${name}, ${conc} client${conc > 1 ? "s" : ""}`,
        ops_per_s: r.flows / r.secs,
        p50_ms: r.p50_ms,
        p99_ms: r.p99_ms,
        rss_mb: Math.max(...rss),
        server_cpu_ms_per_op: perFlow(cpu),
        note: `errors ${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 80)})` : ""}; ` +
          `load generator CPU ${perFlow(r.cpu_ms).toFixed(2)} ms/flow; ` +
          (dbPid === undefined ? "" : `PostgreSQL CPU ${perFlow(db).toFixed(2)} ms/flow; `) +
          `server CPU summed over replicas; peak RSS of the largest replica; ` +
          `load from a separate process; sample TEE; P-256 via ${cryptoBackend()}; ` +
          (RVS > 0 ? `${RVS} reference values; ` : "") +
          `loadavg ${await loadAvg()}`,
        peer: "upstream KBS publishes no figures; not installable here",
      });
    }
  } finally {
    for (const p of procs) await p.stop();
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

async function loadAvg(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}

export async function bench(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  if (SETUPS.includes("local")) {
    rows.push(
      ...await cluster("1 replica LocalFs", (dir) => ({ type: "LocalFs", dir: `${dir}/data` }), 1),
    );
  }
  if (!SETUPS.includes("pg")) return rows;
  if (!postgresPeers().ok) {
    rows.push({
      name: "kbs full flow, 2 replicas PostgreSQL",
      note: `skipped: ${postgresPeers().reason}`,
    });
    return rows;
  }
  let pg: TestPostgres | undefined;
  try {
    pg = await startPostgres();
    const { socketDir, port } = pg;
    rows.push(
      ...await cluster(
        "2 replicas PostgreSQL",
        () => ({ type: "Postgres", socketDir, port }),
        2,
        pg.pid(),
      ),
    );
  } finally {
    await pg?.stop();
  }
  return rows;
}
