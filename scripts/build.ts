/**
 * `deno task build`: writes `dist/<exe>.js` single-file bundles (always; plus the shim-only
 * `dist/containerd-shim-coco-v2.js`) and, when the `denort`
 * base binary can be had (`DENORT_BIN` set, or Deno's release host reachable), self-contained
 * executables `dist/<exe>` via `deno compile`. When it cannot, it says so in one line and goes on.
 *
 * Flags: --bundle-only (skip compile).
 */
const EXES = [
  { name: "trustee", entry: "trustee/main.ts" },
  { name: "coco-guest", entry: "guest/main.ts" },
  { name: "coco-host", entry: "host/main.ts" },
];
/**
 * Bundles only (no executable): the shim's own graph, which the installed
 * `containerd-shim-coco-v2` launcher runs (start-up is pod start time; `coco-host shim` in the
 * full bundle also loads the Node built-ins the snapshotter's gRPC stack imports).
 */
const BUNDLES = [...EXES, { name: "containerd-shim-coco-v2", entry: "host/shim/main.ts" }];
const deno = Deno.execPath();
const bundleOnly = Deno.args.includes("--bundle-only");

async function run(args: string[], env: Record<string, string> = {}, timeoutMs = 300_000) {
  const out = await new Deno.Command(deno, {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  return {
    ok: out.success,
    text: new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout),
  };
}

const mustFile = (p: string) => Deno.stat(p).then(() => true, () => false);

await Deno.mkdir("dist", { recursive: true });
const embed = await run(["run", "-A", "scripts/embed.ts"]);
if (!embed.ok) throw new Error(`embedding policies failed:\n${embed.text}`);

for (const exe of BUNDLES) {
  const r = await run(["bundle", "--quiet", "-o", `dist/${exe.name}.js`, exe.entry]);
  if (!r.ok || !(await mustFile(`dist/${exe.name}.js`))) {
    console.error(`bundle of ${exe.entry} failed:\n${r.text}`);
    Deno.exit(1);
  }
}
console.error(`bundles: ${BUNDLES.map((e) => `dist/${e.name}.js`).join(", ")}`);

if (!bundleOnly) {
  const denort = Deno.env.get("DENORT_BIN");
  for (const exe of EXES) {
    const r = await run(
      ["compile", "-A", "--quiet", "-o", `dist/${exe.name}`, exe.entry],
      denort ? { DENORT_BIN: denort } : {},
      denort ? 300_000 : 60_000,
    ).catch((err) => ({ ok: false, text: String(err) }));
    if (!r.ok) {
      const why = /dl\.deno\.land|download|dns|connect|timed? ?out|abort/i.test(r.text)
        ? "the denort base binary cannot be downloaded here"
        : r.text.trim().split("\n").at(-1);
      console.error(
        `deno compile skipped: ${why}; set DENORT_BIN=/path/to/denort-${Deno.version.deno} to build executables (bundles in dist/ run with \`deno run -A\`)`,
      );
      break;
    }
    console.error(`compiled dist/${exe.name}`);
  }
}
