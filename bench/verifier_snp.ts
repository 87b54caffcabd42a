/**
 * SNP verifier benchmark: full `evaluate` of the e2e Genoa evidence (VCEK in cert_chain) with warm
 * caches (embedded roots parsed and verified, public keys imported), and the same evidence with
 * the VCEK served from the in-memory KDS cache.
 */
import { type BenchRow, measure } from "./_lib.ts";
import { SnpVerifier } from "../trustee/verifier/snp/mod.ts";
import type { JsonValue } from "../lib/json/mod.ts";

const EVIDENCE = new URL(
  "../../shared/testdata/trustee/attestation-service/tests/e2e/evidence.json",
  import.meta.url,
);

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
