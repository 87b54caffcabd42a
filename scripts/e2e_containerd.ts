/**
 * `deno task e2e:containerd`: the containerd scenario on its own (tests/e2e/containerd_e2e.ts:
 * containerd 1.6 + coco shim + coco snapshotter, guest pull in a QEMU pod VM, exec policy, kill
 * and fault cleanup). As root it first installs the peers it needs (scripts/install_peers.ts),
 * then builds the `dist/` bundles and the guest image (a no-op when nothing changed), runs the
 * test with the op and resource sanitizers, and ends with the plain line `N passed, N failed`.
 *
 * Usage: deno task e2e:containerd [deno test flags…]
 *
 * @module
 */
const deno = Deno.execPath();
const root = new URL("../", import.meta.url).pathname;
const TEST = "tests/e2e/containerd_e2e.ts";

async function step(args: string[], what: string): Promise<void> {
  const out = await new Deno.Command(deno, {
    args,
    cwd: root,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  if (!out.success) {
    console.error(`${what} failed`);
    console.log("0 passed, 1 failed");
    Deno.exit(1);
  }
}

if (Deno.uid() === 0) await step(["run", "-A", "scripts/install_peers.ts"], "peer installation");
await step(["run", "-A", "scripts/build.ts", "--bundle-only"], "build of dist/ bundles");
await step(["run", "-A", "scripts/build_guest_image.ts"], "guest image build");

const child = new Deno.Command(deno, {
  args: ["test", "-A", "--sanitize-ops", "--sanitize-resources", ...Deno.args, TEST],
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
// deno's summary, e.g. "ok | 1 passed (4 steps) | 0 failed"; steps count as cases.
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
if (/^SKIPPED /m.test(plain)) console.log(plain.match(/^SKIPPED .*$/m)![0]);
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(status.code);
