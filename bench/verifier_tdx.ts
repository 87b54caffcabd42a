/**
 * TDX verifier benchmark: full `TdxVerifier.evaluate` of tdx_quote_6 (quote + QE signatures,
 * PCK chain, CRLs, TCB info / QE identity signatures, TCB evaluation, claims) with the collateral
 * cache warm, sequentially; verifications per second and p50/p99 latency.
 */
import { TdxVerifier } from "../trustee/verifier/tdx/mod.ts";
import { type BenchRow, percentile } from "./_lib.ts";

const D = new URL("../../shared/testdata/trustee/deps/verifier/test_data/", import.meta.url);
const T = new URL("../trustee/verifier/tdx/testdata/", import.meta.url);

export async function bench(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "bench-tdx-" });
  try {
    await Deno.copyFile(new URL("tcbInfo.json", D), `${dir}/tcbinfo-00a06d080000.json`);
    await Deno.copyFile(new URL("enclaveIdentity.json", D), `${dir}/qe-identity.json`);
    await Deno.copyFile(new URL("intel-tcb-signing-chain.pem", T), `${dir}/tcb-signing-chain.pem`);
    await Deno.copyFile(new URL("intel-pck-crl-platform.der", T), `${dir}/pck-crl-platform.der`);
    await Deno.copyFile(new URL("intel-root-ca-crl.der", T), `${dir}/root-ca-crl.der`);
    const quote = (await Deno.readFile(new URL("tdx_quote_6.dat", D))).toBase64();
    const v = new TdxVerifier({ collateralDir: dir, now: () => new Date("2025-11-01T00:00:00Z") });
    const evidence = { cc_eventlog: null, quote };
    for (let i = 0; i < 20; i++) await v.evaluate({ evidence });
    const lat: number[] = [];
    const start = performance.now();
    while (performance.now() - start < 5000) {
      const t = performance.now();
      await v.evaluate({ evidence });
      lat.push(performance.now() - t);
    }
    const secs = (performance.now() - start) / 1000;
    return [{
      name: "verifier tdx (tdx_quote_6, warm collateral)",
      ops_per_s: lat.length / secs,
      p50_ms: percentile(lat, 50),
      p99_ms: percentile(lat, 99),
      note: `${lat.length} sequential verifications, Intel collateral + CRLs`,
    }];
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
