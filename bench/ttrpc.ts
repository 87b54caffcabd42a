/**
 * ttrpc unary round trips over a unix socket, in one process: an AA-like GetTeeType service
 * served by TtrpcServer, called by TtrpcClient with 1 and 16 concurrent callers sharing one
 * connection. Prints rows when run directly: deno run -A bench/ttrpc.ts
 */
import { type BenchRow, percentile } from "./_lib.ts";
import { aa } from "@coco/lib/proto";
import { createClient, listenUnix, TtrpcClient, TtrpcServer } from "@coco/lib/ttrpc";

const WARMUP = 500;
const CALLS = 20_000;

async function run(
  call: () => Promise<unknown>,
  callers: number,
): Promise<{ opsPerS: number; latencies: number[] }> {
  for (let i = 0; i < WARMUP; i++) await call();
  const latencies: number[] = [];
  let left = CALLS;
  const worker = async () => {
    while (left-- > 0) {
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: callers }, worker));
  const seconds = (performance.now() - start) / 1000;
  return { opsPerS: latencies.length / seconds, latencies };
}

/** Runs the ttrpc benchmark and returns one row per concurrency level. */
export async function bench(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "ttrpc_bench_" });
  const server = new TtrpcServer();
  server.registerService(aa.AttestationAgentService, { getTeeType: () => ({ tee: "sample" }) });
  const listener = await listenUnix(`${dir}/aa.sock`);
  const serving = server.serve(listener);
  const client = await TtrpcClient.connect(`unix://${dir}/aa.sock`);
  const stub = createClient(client, aa.AttestationAgentService);
  const rows: BenchRow[] = [];
  try {
    for (const callers of [1, 16]) {
      const { opsPerS, latencies } = await run(() => stub.getTeeType({}), callers);
      rows.push({
        name: `ttrpc unary GetTeeType, unix socket, ${callers} caller${callers > 1 ? "s" : ""}`,
        ops_per_s: Math.round(opsPerS),
        p50_ms: Number(percentile(latencies, 50).toFixed(3)),
        p99_ms: Number(percentile(latencies, 99).toFixed(3)),
        note: `${CALLS} calls on one connection, client and server in one process`,
      });
    }
  } finally {
    await client.close();
    await server.close();
    await serving;
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  for (const row of await bench()) console.log(JSON.stringify(row));
}
