/**
 * Helpers for the containerd scenarios (tests/e2e/containerd*_test.ts, cri_pod, shim): the guest
 * image build, shim configs and launchers for QEMU and `hypervisor.type = "none"`, containerd with
 * the coco snapshotter, a long-running `ctr` child, watching a child's output for a pattern, and
 * the "nothing left behind" check (no run directory, no process naming it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { umount, UmountFlags } from "@coco/lib/sys";
import {
  type PrivateContainerd,
  startContainerd,
  writeLauncher,
} from "../../host/shim/_containerd_harness.ts";
import { run } from "../../guest/image/_testing/real_registry.ts";
import { runDeno, startDeno, type Started, terminate } from "../harness.ts";
import { findPeers, isRoot, type Peers, requireAlso } from "../peers.ts";
import { REGISTRY_IN_GUEST } from "./_vm_fixture.ts";

const GUEST_MAIN = new URL("../../guest/main.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;
/** The guest image every VM scenario boots. */
export const GUEST = join(ROOT, "dist/guest");
const HOST_MAIN = join(ROOT, "host/main.ts");
const NYDUS_HELPER = join(ROOT, "host/snapshotter/nydus-overlayfs");

/**
 * Peers of a containerd scenario with QEMU pod VMs (and `extra` binaries): containerd, ctr, runc,
 * QEMU, a registry, umoci, skopeo, busybox, root, and a Debian kernel for the guest image.
 */
export function containerdVmPeers(...extra: string[]): Peers {
  return requireAlso(
    requireAlso(
      findPeers(
        "containerd",
        "ctr",
        "runc",
        "qemu-system-x86_64",
        "docker-registry",
        "umoci",
        "skopeo",
        "busybox",
        ...extra,
      ),
      isRoot(),
      "needs root for containerd, runc and overlay mounts",
    ),
    [...Deno.readDirSync("/boot")].some((e) => e.name.startsWith("vmlinuz-")),
    "no Debian kernel in /boot for the guest image",
  );
}

/** Builds the guest image from this checkout (a no-op when current); fails the test if it fails. */
export async function buildGuestImage(): Promise<void> {
  const build = await runDeno([
    "run",
    "-A",
    join(ROOT, "scripts/build_guest_image.ts"),
    "--out",
    GUEST,
  ]);
  assert.equal(build.code, 0, build.stderr);
}

/** A loopback port forwarded into the guest (`shim.guest_forwards`). */
export interface Forward {
  guest: string;
  hostPort: number;
}

/**
 * The shim config for QEMU pod VMs with the guest image under test: guest pull, `forwards` into
 * the guest, and the sample TEE named explicitly (development only: there is no TEE here).
 */
export function qemuShimToml(o: {
  runtimeDir: string;
  socketDir: string;
  forwards: Forward[];
  forceGuestPull?: boolean;
  createTimeoutS?: number;
}): string {
  const fwd = o.forwards.map((f) => `{ guest = "${f.guest}", host_port = ${f.hostPort} }`);
  return `[shim]\nruntime_dir = "${o.runtimeDir}"\nsocket_dir = "${o.socketDir}"\n` +
    (o.forceGuestPull ? "force_guest_pull = true\n" : "") +
    `create_container_timeout = ${o.createTimeoutS ?? 300}\n` +
    `guest_forwards = [${fwd.join(", ")}]\n` +
    `[hypervisor]\ntype = "qemu"\nkernel = "${GUEST}/vmlinuz"\ninitrd = "${GUEST}/initrd.img"\n` +
    // One vCPU: under TCG, a 2-vCPU guest was once seen with both CPUs in a kernel soft lockup
    // inside runc (one spinning with interrupts off), which one vCPU rules out.
    `vcpus = 1\n` +
    `kernel_params = "console=ttyS0 rdinit=/init panic=-1 quiet agent.tee=sample"\n`;
}

/** Copies an OCI archive into the registry (`skopeo copy`, plain HTTP). */
export async function pushArchive(skopeo: string, tar: string, dest: string): Promise<void> {
  await run(skopeo, ["copy", "--dest-tls-verify=false", `oci-archive:${tar}`, `docker://${dest}`]);
}

/** containerd with our proxy snapshotter `coco` for CRI, and the snapshotter process. */
export interface SnapshotterContainerd {
  cd: PrivateContainerd;
  snap: Started;
  /** PATH with the `nydus-overlayfs` mount helper that `ctr` needs for guest-pull rootfs. */
  path: string;
}

/**
 * Starts `coco-host snapshotter` and a private containerd 1.6 whose CRI plugin uses it (snapshot
 * annotations on) and pulls `registryHost` over plain HTTP. `stop()` of both is the caller's.
 */
export async function startSnapshotterContainerd(
  dir: string,
  registryHost: string,
): Promise<SnapshotterContainerd> {
  const snapSocket = join(dir, "snap.sock");
  const snap = await startDeno({
    args: [
      "run",
      "-A",
      HOST_MAIN,
      "snapshotter",
      "--socket",
      snapSocket,
      "--root",
      join(dir, "snap"),
    ],
    ready: /snapshotter listening on/,
    name: "coco-host snapshotter",
  });
  try {
    // ctr opens the rootfs on the host (WithAdditionalGIDs): it needs the mount helper.
    await Deno.mkdir(join(dir, "bin"));
    await Deno.symlink(NYDUS_HELPER, join(dir, "bin/nydus-overlayfs"));
    const path = `${dir}/bin:${Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`;
    const cd = await startContainerd(dir, {
      env: { PATH: path },
      extraConfig: `[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "${dir}/cni"
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "coco"
  disable_snapshot_annotations = false
[plugins."io.containerd.grpc.v1.cri".registry.mirrors."${registryHost}"]
  endpoint = ["http://${registryHost}"]
[proxy_plugins.coco]
  type = "snapshot"
  address = "${snapSocket}"
`,
    });
    return { cd, snap, path };
  } catch (err) {
    await snap.stop();
    throw err;
  }
}

/**
 * Writes two shim configs and launchers under `dir` (one run dir `dir/run` for both): `qemu`
 * (guest pull, the registry forwarded into the guest) and `none` (local agent, 3 s agent timeout).
 */
export async function shimConfigs(
  dir: string,
  hostMain: string,
  registryPort: number,
): Promise<{ qemu: string; none: string }> {
  const common = `[shim]\nruntime_dir = "${dir}/run"\nsocket_dir = "${dir}/s"\n`;
  await Deno.mkdir(join(dir, "qemu"));
  await Deno.mkdir(join(dir, "none"));
  await Deno.writeTextFile(
    join(dir, "qemu/shim.toml"),
    qemuShimToml({
      runtimeDir: `${dir}/run`,
      socketDir: `${dir}/s`,
      forwards: [{ guest: REGISTRY_IN_GUEST, hostPort: registryPort }],
    }),
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
    await terminate(child);
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
