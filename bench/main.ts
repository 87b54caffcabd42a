/**
 * `deno task bench`: runs every benchmark module and prints one table. Figures only — benchmarks
 * never pass or fail. Pass module names (e.g. `kbs ttrpc`) to run a subset.
 */
import type { BenchRow } from "./_lib.ts";

const MODULES: Record<string, () => Promise<{ bench(): Promise<BenchRow[]> }>> = {
  kbs: () => import("./kbs.ts"),
  ttrpc: () => import("./ttrpc.ts"),
  rego: () => import("./rego.ts"),
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
console.log("| benchmark | ops/s | p50 ms | p99 ms | RSS MiB | notes |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const name of wanted) {
  const load = MODULES[name];
  if (!load) {
    console.log(`| ${name} | unknown benchmark | | | | |`);
    continue;
  }
  let rows: BenchRow[];
  try {
    rows = await (await load()).bench();
  } catch (err) {
    console.log(`| ${name} | FAILED: ${(err as Error).message.split("\n")[0]} | | | | |`);
    continue;
  }
  for (const r of rows) {
    const notes = [r.note, r.peer ? `peer: ${r.peer}` : ""].filter(Boolean).join("; ");
    console.log(
      `| ${r.name} | ${fmt(r.ops_per_s, 0)} | ${fmt(r.p50_ms)} | ${fmt(r.p99_ms)} | ${
        fmt(r.rss_mb, 1)
      } | ${notes} |`,
    );
  }
}
