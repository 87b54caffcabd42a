/**
 * Helpers for tests/e2e/containerd_e2e_test.ts: shim configs and launchers for QEMU and
 * `hypervisor.type = "none"`, a long-running `ctr` child, watching a child's output for a pattern,
 * and the "nothing left behind" check (no run directory, no process naming it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { umount, UmountFlags } from "@coco/lib/sys";
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

/** PID of the running containerd whose config is `dir/containerd.toml` (found in /proc). */
export async function containerdPid(dir: string): Promise<number> {
  const want = `--config\0${join(dir, "containerd.toml")}\0`;
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`);
      const argv0 = cmd.slice(0, cmd.indexOf("\0"));
      if (/(^|\/)containerd$/.test(argv0) && cmd.includes(want)) return Number(e.name);
    } catch { /* exited meanwhile */ }
  }
  throw new Error(`no containerd runs with ${dir}/containerd.toml`);
}

/** PIDs of processes whose command line is exactly `args` (e.g. a container's `sleep 100001`). */
export async function pidsRunning(args: string[]): Promise<number[]> {
  const want = args.join("\0") + "\0";
  const out: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (await Deno.readTextFile(`/proc/${e.name}/cmdline`) === want) out.push(Number(e.name));
    } catch { /* exited meanwhile */ }
  }
  return out;
}

/** A containerd started again on the config a first one left in `dir`, its log watched. */
export interface RestartedContainerd {
  pid: number;
  /** containerd's stderr (debug level: `msg="event forwarded" ns=… topic=…` per event). */
  log: OutputWatcher;
  /** Resolves when containerd exited. */
  status: Promise<Deno.CommandStatus>;
  stop(): Promise<void>;
}

/**
 * Starts containerd on `dir/containerd.toml` (written by the harness' `startContainerd`) with
 * `--log-level debug`, same root, state and sockets; resolves once it has booted (it has then
 * reloaded the shims of running tasks).
 */
export async function restartContainerd(
  dir: string,
  env: Record<string, string> = {},
): Promise<RestartedContainerd> {
  const child = new Deno.Command("containerd", {
    args: ["--config", join(dir, "containerd.toml"), "--log-level", "debug"],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log = watchOutput(child.stderr);
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    const t = setTimeout(() => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    }, 5000);
    await child.status;
    clearTimeout(t);
    await log.done;
  };
  try {
    await log.waitFor(/containerd successfully booted/, child.status);
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid, log, status: child.status, stop };
}

/**
 * Safety net after a failed test: SIGKILLs every process whose command line names `dir` and
 * detaches every mount under it (a SIGKILLed shim leaves its rootfs mounts). Returns the pids.
 */
export async function killProcessesNaming(dir: string): Promise<number[]> {
  const killed = await killNaming(dir);
  const mounts = (await Deno.readTextFile("/proc/self/mountinfo")).split("\n")
    .map((l) => l.split(" ")[4] ?? "").filter((m) => m.startsWith(`${dir}/`)).reverse();
  for (const m of mounts) {
    try {
      umount(m, UmountFlags.DETACH);
    } catch { /* already gone */ }
  }
  return killed;
}

async function killNaming(dir: string): Promise<number[]> {
  const killed: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      if ((await Deno.readTextFile(`/proc/${e.name}/cmdline`)).includes(dir)) {
        Deno.kill(Number(e.name), "SIGKILL");
        killed.push(Number(e.name));
      }
    } catch { /* exited meanwhile */ }
  }
  return killed;
}
