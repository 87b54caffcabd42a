/**
 * Runner shared by the `deno task e2e:*` scenarios: optional peer installation (as root), the
 * `dist/` bundles and the guest image (no-ops when nothing changed), then one test file with the
 * op and resource sanitizers, ending with the plain line `N passed, N failed` (test steps count
 * as cases, as in scripts/run_tests.ts).
 *
 * @module
 */
const deno = Deno.execPath();
const root = new URL("../", import.meta.url).pathname;

async function step(args: string[], what: string): Promise<void> {
  const out = await new Deno.Command(deno, {
    args,
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) {
    console.error(`${what} failed`);
    console.log("0 passed, 1 failed");
    Deno.exit(1);
  }
}

/** Options of one scenario. */
export interface Scenario {
  /** The test file, relative to the repository root. */
  test: string;
  /** Install missing Debian peers first when running as root. */
  installPeers?: boolean;
}

/** Runs the scenario with `deno test` flags from the command line; exits with its status. */
export async function runScenario(s: Scenario): Promise<never> {
  if (s.installPeers && Deno.uid() === 0) {
    await step(["run", "-A", "scripts/install_peers.ts"], "peer installation");
  }
  await step(["run", "-A", "scripts/build.ts", "--bundle-only"], "build of dist/ bundles");
  await step(["run", "-A", "scripts/build_guest_image.ts"], "guest image build");
  const child = new Deno.Command(deno, {
    args: ["test", "-A", "--sanitize-ops", "--sanitize-resources", ...Deno.args, s.test],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  for await (const chunk of child.stdout) {
    out += decoder.decode(chunk, { stream: true });
    await Deno.stdout.write(chunk);
  }
  const status = await child.status;
  // deno's summary, e.g. "ok | 1 passed (10 steps) | 0 failed".
  // deno-lint-ignore no-control-regex
  const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
  const m = [
    ...plain.matchAll(
      /^(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?/gm,
    ),
  ].at(-1);
  const n = (i: number) => Number(m?.[i] ?? 0);
  const passed = n(1) + n(2);
  let failed = n(3) + n(4);
  if (failed === 0 && !status.success) failed = 1;
  for (const line of plain.match(/^SKIPPED .*$/gm) ?? []) console.log(line);
  console.log(`${passed} passed, ${failed} failed`);
  Deno.exit(status.code);
}
