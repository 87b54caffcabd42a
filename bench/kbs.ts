/**
 * KBS benchmark: full flows (RCAR auth + attest + resource fetch with the session cookie, sample
 * TEE) against the bundled trustee running as child processes on loopback, with the load coming
 * from a separate process (`kbs_load.ts`). Two set-ups, each at 1, 32 and 256 concurrent
 * clients: one replica with the default LocalFs storage, and two replicas sharing PostgreSQL
 * (calls of one flow alternate replicas, as behind a round-robin balancer). Prints flows/s,
 * p50/p99, the error count and the trustees' peak RSS.
 */
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
const CONCURRENCY = [1, 32, 256];
const DURATION_MS = Number(Deno.env.get("KBS_BENCH_MS") ?? 6000);

interface LoadResult {
  flows: number;
  errors: number;
  secs: number;
  p50_ms: number;
  p99_ms: number;
  firstError?: string;
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
          args: ["run", "-A", "dist/trustee.js", "serve", "-c", configPath],
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
    await load(urls, 8, 1500); // warm-up (JIT, pools)
    for (const conc of CONCURRENCY) {
      const r = await load(urls, conc, DURATION_MS);
      const rss = await Promise.all(procs.map((p) => rssMiB(p.child.pid)));
      rows.push({
        name: `kbs full flow, ${name}, ${conc} client${conc > 1 ? "s" : ""}`,
        ops_per_s: r.flows / r.secs,
        p50_ms: r.p50_ms,
        p99_ms: r.p99_ms,
        rss_mb: Math.max(...rss),
        note: `errors ${r.errors}${r.firstError ? ` (${r.firstError.slice(0, 80)})` : ""}; ` +
          `peak RSS of the largest replica; load from a separate process; sample TEE`,
        peer: "upstream KBS publishes no figures; not installable here",
      });
    }
  } finally {
    for (const p of procs) await p.stop();
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

export async function bench(): Promise<BenchRow[]> {
  const rows = await cluster(
    "1 replica LocalFs",
    (dir) => ({ type: "LocalFs", dir: `${dir}/data` }),
    1,
  );
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
      ...await cluster("2 replicas PostgreSQL", () => ({ type: "Postgres", socketDir, port }), 2),
    );
  } finally {
    await pg?.stop();
  }
  return rows;
}
