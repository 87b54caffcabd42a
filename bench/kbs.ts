/**
 * KBS benchmark: full flows (RCAR handshake + one resource fetch, sample TEE, fresh client and
 * TEE key each time) against the bundled trustee as a child process on loopback, with 1 and 32
 * concurrent clients; p50/p99 latency and the trustee's peak RSS.
 */
import { KbsClient } from "@coco/lib/kbs/client";
import { sampleEvidenceProvider } from "@coco/lib/tee";
import { AdminClient } from "../trustee/client/admin_client.ts";
import { startDeno } from "../tests/harness.ts";
import { type BenchRow, percentile, rssMiB } from "./_lib.ts";

const ALLOW =
  'package policy\nimport rego.v1\ndefault allow := false\nallow if data.plugin == "resource"\n';

async function flows(
  url: string,
  concurrency: number,
  durationMs: number,
): Promise<{ lat: number[]; errors: number; secs: number }> {
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + durationMs;
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const c = new KbsClient({ url, evidence: sampleEvidenceProvider() });
      const t = performance.now();
      try {
        await c.getResource("/kbs/v0/resource/bench/key/1");
        lat.push(performance.now() - t);
      } catch {
        errors++;
      } finally {
        c.close();
      }
    }
  }));
  return { lat, errors, secs: (performance.now() - start) / 1000 };
}

export async function bench(): Promise<BenchRow[]> {
  const home = await Deno.makeTempDir({ prefix: "kbs-bench-" });
  const trustee = await startDeno({
    name: "trustee",
    args: ["run", "-A", "dist/trustee.js", "serve", "--home", home, "--socket", "127.0.0.1:0"],
    ready: /trustee listening on (http:\/\/\S+)/,
    env: { COCO_LOG: "warn" },
  });
  const rows: BenchRow[] = [];
  try {
    const url = trustee.match[1]!;
    const admin = new AdminClient({
      url,
      token: (await Deno.readTextFile(`${home}/admin-token`)).trim(),
    });
    await admin.setResourcePolicy(ALLOW);
    await admin.setResource("bench/key/1", new TextEncoder().encode("x".repeat(64)));
    admin.close();
    await flows(url, 4, 1500); // warm-up
    for (const conc of [1, 32]) {
      const r = await flows(url, conc, 8000);
      rows.push({
        name: `kbs full flow (auth+attest+resource), ${conc} client${conc > 1 ? "s" : ""}`,
        ops_per_s: r.lat.length / r.secs,
        p50_ms: percentile(r.lat, 50),
        p99_ms: percentile(r.lat, 99),
        rss_mb: await rssMiB(trustee.child.pid),
        note: `errors ${r.errors}; trustee peak RSS; sample TEE`,
        peer: "upstream KBS publishes no figures; not installable here",
      });
    }
  } finally {
    await trustee.stop();
    await Deno.remove(home, { recursive: true });
  }
  return rows;
}
