/**
 * Helpers for tests/e2e/containerd_e2e.ts: shim configs and launchers for QEMU and
 * `hypervisor.type = "none"`, a long-running `ctr` child, watching a child's output for a pattern,
 * and the "nothing left behind" check (no run directory, no process naming it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeLauncher } from "../../host/shim/_containerd_harness.ts";
import { REGISTRY_IN_GUEST } from "./_vm_fixture.ts";

const GUEST_MAIN = new URL("../../guest/main.ts", import.meta.url).pathname;

/**
 * Writes two shim configs and launchers under `dir` (one run dir `dir/run` for both): `qemu`
 * (guest pull, the registry forwarded into the guest) and `none` (local agent, 3 s agent timeout).
 */
export async function shimConfigs(
  dir: string,
  guest: string,
  hostMain: string,
  registryPort: number,
): Promise<{ qemu: string; none: string }> {
  const common = `[shim]\nruntime_dir = "${dir}/run"\nsocket_dir = "${dir}/s"\n`;
  await Deno.mkdir(join(dir, "qemu"));
  await Deno.mkdir(join(dir, "none"));
  await Deno.writeTextFile(
    join(dir, "qemu/shim.toml"),
    common + `create_container_timeout = 300\n` +
      `guest_forwards = [{ guest = "${REGISTRY_IN_GUEST}", host_port = ${registryPort} }]\n` +
      `[hypervisor]\ntype = "qemu"\nkernel = "${guest}/vmlinuz"\ninitrd = "${guest}/initrd.img"\n` +
      // Development only: the guest has no TEE here, so name the sample one explicitly.
      `kernel_params = "console=ttyS0 rdinit=/init panic=-1 quiet agent.tee=sample"\n`,
  );
  await Deno.writeTextFile(
    join(dir, "none/shim.toml"),
    common +
      `agent_timeout = 3\nlocal_agent_command = ${
        JSON.stringify([Deno.execPath(), "run", "-A", GUEST_MAIN, "agent"])
      }\n[hypervisor]\ntype = "none"\n`,
  );
  return {
    qemu: await writeLauncher(join(dir, "qemu"), join(dir, "qemu/shim.toml"), hostMain),
    none: await writeLauncher(join(dir, "none"), join(dir, "none/shim.toml"), hostMain),
  };
}

/** Spawns `ctr -a <socket> <args>` with piped stdout/stderr (the caller drains or cancels). */
export function ctrSpawn(socket: string, path: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command("ctr", {
    args: ["-a", socket, ...args],
    env: { PATH: path },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Asserts `dir/run` is empty and no process (QEMU, agent, shim) names it on its command line. */
export async function assertNoBackendLeft(dir: string): Promise<void> {
  const left = [];
  for await (const e of Deno.readDir(join(dir, "run"))) left.push(e.name);
  assert.deepEqual(left, [], "the shim removed its run directories");
  const procs: string[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      if (cmd.includes(`${dir}/run`)) procs.push(cmd.replaceAll("\0", " "));
    } catch { /* exited meanwhile */ }
  }
  assert.deepEqual(procs, [], "no QEMU or agent process left");
}

/** The text of a child's output as it arrives, with a wait for a pattern. */
export interface OutputWatcher {
  /** Resolves with the text so far once `re` matches it; rejects when `abort` settles first. */
  waitFor(re: RegExp, abort: Promise<unknown>): Promise<string>;
  /** Everything read so far. */
  text(): string;
  /** Resolves when the stream ended. */
  done: Promise<void>;
}

/** Collects `stream` (e.g. `ctr events` stdout) so tests can wait for lines without polling. */
export function watchOutput(stream: ReadableStream<Uint8Array>): OutputWatcher {
  let text = "";
  const waiters: { re: RegExp; resolve: (t: string) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.re.test(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(text);
      }
    }
  };
  const done = (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      check();
    }
  })();
  return {
    waitFor(re, abort) {
      if (re.test(text)) return Promise.resolve(text);
      const hit = new Promise<string>((resolve) => waiters.push({ re, resolve }));
      const failed = abort.then(() => {
        throw new Error(`ended before output matched ${re}:\n${text}`);
      });
      return Promise.race([hit, failed]);
    },
    text: () => text,
    done,
  };
}
