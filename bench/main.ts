/**
 * `deno task bench`: runs every benchmark module and prints one table. Figures only — benchmarks
 * never pass or fail. Pass module names (e.g. `kbs ttrpc`) to run a subset.
 */
import type { BenchRow } from "./_lib.ts";

const MODULES: Record<string, () => Promise<{ bench(): Promise<BenchRow[]> }>> = {
  kbs: () => import("./kbs.ts"),
  ttrpc: () => import("./ttrpc.ts"),
  rego: () => import("./rego.ts"),
  snapshotter: () => import("./snapshotter.ts"),
  image_pull: () => import("./image_pull.ts"),
  unpack: () => import("./unpack.ts"),
  image_crypto: () => import("./image_crypto.ts"),
  agent: () => import("./agent.ts"),
  shim: () => import("./shim.ts"),
  verifier_snp: () => import("./verifier_snp.ts"),
  verifier_tdx: () => import("./verifier_tdx.ts"),
  verifier_tpm: () => import("./verifier_tpm.ts"),
  verifier_nvidia: () => import("./verifier_nvidia.ts"),
  verifier_cca: () => import("./verifier_cca.ts"),
  vm: () => import("./vm.ts"),
};

const fmt = (
  v: number | undefined,
  d = 2,
) => (v === undefined || Number.isNaN(v) ? "-" : v.toFixed(d));
const wanted = Deno.args.length ? Deno.args : Object.keys(MODULES);
const build = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "scripts/build.ts", "--bundle-only"],
}).output();
if (!build.success) throw new Error("bundle build failed");
console.log("| benchmark | ops/s | p50 ms | p99 ms | RSS MiB | server CPU ms/op | notes |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const name of wanted) {
  const load = MODULES[name];
  if (!load) {
    console.log(`| ${name} | unknown benchmark | | | | | |`);
    continue;
  }
  let rows: BenchRow[];
  try {
    rows = await (await load()).bench();
  } catch (err) {
    console.log(`| ${name} | FAILED: ${(err as Error).message.split("\n")[0]} | | | | | |`);
    continue;
  }
  for (const r of rows) {
    const notes = [r.note, r.peer ? `peer: ${r.peer}` : ""].filter(Boolean).join("; ");
    console.log(
      `| ${r.name} | ${fmt(r.ops_per_s, 0)} | ${fmt(r.p50_ms)} | ${fmt(r.p99_ms)} | ${
        fmt(r.rss_mb, 1)
      } | ${fmt(r.server_cpu_ms_per_op)} | ${notes} |`,
    );
  }
}
