/**
 * The proxy snapshotter over gRPC: `coco-host snapshotter` runs as a child process (so its RSS
 * is its own) and a grpc-js client in this process measures Prepare+Commit round trips (overlay
 * mode: directories + fsynced metadata), guest-pull layer Prepares (answered ALREADY_EXISTS),
 * container Prepares on a guest-pull chain, and List. Also reports time to listening.
 * Prints rows when run directly: deno run -A bench/snapshotter.ts
 */
import { type BenchRow, percentile, rssMiB } from "./_lib.ts";
import { SnapshotsClient } from "../host/snapshotter/mod.ts";

const N = 300;
const MAIN = new URL("../host/main.ts", import.meta.url).pathname;

async function timed(n: number, op: (i: number) => Promise<unknown>) {
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await op(i);
    latencies.push(performance.now() - t0);
  }
  return { opsPerS: n / ((performance.now() - start) / 1000), latencies };
}

function row(name: string, r: { opsPerS: number; latencies: number[] }, note: string): BenchRow {
  return {
    name,
    ops_per_s: Math.round(r.opsPerS),
    p50_ms: Number(percentile(r.latencies, 50).toFixed(3)),
    p99_ms: Number(percentile(r.latencies, 99).toFixed(3)),
    note,
  };
}

const layerLabels = (i: number) => ({
  "containerd.io/snapshot.ref": `sha256:${String(i).padStart(64, "0")}`,
  "containerd.io/snapshot/cri.image-ref": "registry.example/bench:1",
  "containerd.io/snapshot/cri.layer-digest": `sha256:${String(i).padStart(64, "f")}`,
});

/** Runs the snapshotter benchmark. */
export async function bench(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "snap_bench_" });
  const socket = `${dir}/s.sock`;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "snapshotter", "--socket", socket, "--root", `${dir}/root`],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("listening")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("coco-host snapshotter exited before listening");
    out += value;
  }
  const startMs = performance.now() - t0;
  const startRss = await rssMiB(child.pid, "VmRSS");
  const c = new SnapshotsClient(socket);
  const rows: BenchRow[] = [];
  try {
    rows.push({
      name: "snapshotter start to listening (child process, from source)",
      p50_ms: Math.round(startMs),
      rss_mb: Number(startRss.toFixed(1)),
      note: "RSS (VmRSS) when listening",
    });
    const pc = await timed(N, async (i) => {
      await c.prepare({ key: `default/${i}/extract-${i}`, parent: i ? `layer-${i - 1}` : "" });
      await c.commit({ name: `layer-${i}`, key: `default/${i}/extract-${i}` });
    });
    rows.push(
      row(
        "Prepare+Commit (overlay) over gRPC",
        pc,
        `${N} pairs on a growing chain, fsynced metadata`,
      ),
    );
    const gp = await timed(
      N,
      (i) =>
        c.prepare({
          key: `k8s.io/${i}/extract-x`,
          parent: i ? `sha256:${String(i - 1).padStart(64, "0")}` : "",
          labels: layerLabels(i),
        })
          .catch(() => undefined),
    );
    rows.push(row("guest-pull layer Prepare (ALREADY_EXISTS)", gp, `${N} layers committed empty`));
    const top = `sha256:${String(N - 1).padStart(64, "0")}`;
    const ctr = await timed(100, (i) => c.prepare({ key: `k8s.io/c/${i}`, parent: top }));
    rows.push(
      row(
        "container Prepare on a guest-pull chain",
        ctr,
        `fuse.nydus-overlayfs mount, ${N}-layer chain`,
      ),
    );
    const list = await timed(20, () => c.list());
    rows.push(row(`List (${2 * N + 100} snapshots, server stream)`, list, "20 calls"));
    rows.push({
      name: "snapshotter RSS after the runs",
      rss_mb: Number((await rssMiB(child.pid, "VmHWM")).toFixed(1)),
      note: "peak (VmHWM) of the coco-host snapshotter process",
    });
  } finally {
    c.close();
    child.kill("SIGTERM");
    await child.status;
    await reader.cancel();
    await Deno.remove(dir, { recursive: true });
  }
  return rows;
}

if (import.meta.main) {
  for (const r of await bench()) console.log(JSON.stringify(r));
}
