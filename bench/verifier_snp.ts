/**
 * SNP verifier benchmark: full `evaluate` of the e2e Genoa evidence (VCEK in cert_chain) with warm
 * caches (embedded roots parsed and verified, public keys imported), and the same evidence with
 * the VCEK served from the in-memory KDS cache.
 */
import { type BenchRow, percentile } from "./_lib.ts";
import { SnpVerifier } from "../trustee/verifier/snp/mod.ts";
import type { JsonValue } from "../lib/json/mod.ts";

const EVIDENCE = new URL(
  "../../shared/testdata/trustee/attestation-service/tests/e2e/evidence.json",
  import.meta.url,
);

async function measure(
  name: string,
  run: () => Promise<unknown>,
  iterations: number,
  note: string,
) {
  for (let i = 0; i < 50; i++) await run();
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
    note,
  } satisfies BenchRow;
}

/** Runs the SNP verifier benchmarks. */
export async function bench(): Promise<BenchRow[]> {
  const evidence = JSON.parse(await Deno.readTextFile(EVIDENCE)) as Record<string, JsonValue> & {
    cert_chain: { data: number[] }[];
    attestation_report: { report_data: number[] };
  };
  const reportData = Uint8Array.from(evidence.attestation_report.report_data);
  const inline = new SnpVerifier();
  const vcek = Uint8Array.from(evidence.cert_chain[0]!.data);
  const kds = new SnpVerifier({
    kdsUrl: "https://kds.bench.invalid",
    fetch: (() => Promise.resolve(new Response(vcek))) as typeof fetch,
  });
  const bare = { ...evidence, cert_chain: null };
  return [
    await measure(
      "snp verify (e2e Genoa, VCEK in evidence)",
      () => inline.evaluate({ evidence, reportData }),
      1000,
      "chain+sig+TCB+claims, warm roots",
    ),
    await measure(
      "snp verify (e2e Genoa, VCEK from KDS cache)",
      () => kds.evaluate({ evidence: bare, reportData }),
      1000,
      "KDS response cached in memory",
    ),
  ];
}

if (import.meta.main) console.table(await bench());
