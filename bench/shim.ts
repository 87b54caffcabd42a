/**
 * Shim benchmark with a private containerd 1.6 and `ctr`: time from `ctr run` to the container's
 * first output byte (process running) and to exit, with our shim next to containerd's own runc
 * shim on the same image, and the pod start broken down into the shim's phases (shim start, VM
 * boot, agent ready, image pull, container start; host/shim/phases.ts) read from containerd's
 * log. Modes: `hypervisor.type = none` (the agent as a local process + runc;
 * `COCO_BENCH_SHIM_RUNS`, default 5), once from the sources and once as `scripts/install-host`
 * installs it (bundles, code cache under the prefix), interleaved with runc; and QEMU (a pod VM per run, TCG here, the image pulled in
 * the guest from a loopback registry; `COCO_BENCH_VM_RUNS`, default 3; `COCO_BENCH_VM=0` skips
 * it). Also the serving shim's and local agent's RSS. Needs root, containerd, ctr, runc, umoci,
 * skopeo, busybox; QEMU mode also qemu-system-x86_64, docker-registry and dist/guest.
 */
import { join } from "node:path";
import {
  buildBusyboxArchive,
  type PrivateContainerd,
  startContainerd,
  writeLauncher,
} from "../host/shim/_containerd_harness.ts";
import { findPeers, isRoot } from "../tests/peers.ts";
import { type BenchRow, rssMiB } from "./_lib.ts";
import { breakdownRows, ctrSeries, runsFromEnv } from "./_pod_start.ts";
import { qemuRows } from "./_shim_qemu.ts";

const IMAGE = "docker.io/library/tinybusybox:latest";

async function shimRss(cd: PrivateContainerd, launcher: string): Promise<BenchRow[]> {
  const child = new Deno.Command("ctr", {
    args: [
      "-a",
      cd.socket,
      "run",
      "--runtime",
      launcher,
      "--rm",
      IMAGE,
      "rss",
      "sh",
      "-c",
      "echo up; exec sleep 1000",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read();
  const task = join(cd.dir, "state/io.containerd.runtime.v2.task/default/rss");
  const shimPid = Number(await Deno.readTextFile(join(task, "shim.pid")));
  const agentPid = Number(await Deno.readTextFile(join(cd.dir, "run/rss/backend.pid")));
  const rows: BenchRow[] = [
    { name: "shim: serving process RSS", rss_mb: await rssMiB(shimPid, "VmRSS") },
    { name: "shim: local agent RSS", rss_mb: await rssMiB(agentPid, "VmRSS") },
  ];
  await cd.ctr(["task", "kill", "-s", "SIGKILL", "rss"]);
  while (!(await reader.read()).done) { /* drain */ }
  await child.status;
  return rows;
}

const HOST_MAIN = new URL("../host/main.ts", import.meta.url).pathname;
const GUEST_MAIN = new URL("../guest/main.ts", import.meta.url).pathname;
const SHIM_MAIN = new URL("../host/shim/main.ts", import.meta.url).pathname;

async function noneConfig(dir: string, name: string, agent: string[]): Promise<string> {
  const cfg = join(dir, name);
  await Deno.writeTextFile(
    cfg,
    `[shim]\nruntime_dir = "${dir}/run"\nsocket_dir = "${dir}/s"\nlocal_agent_command = ${
      JSON.stringify(agent)
    }\n[hypervisor]\ntype = "none"\n`,
  );
  return cfg;
}

async function deno(args: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`deno ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/**
 * What `scripts/install-host` installs (bundles of this checkout as scripts/build.ts makes them,
 * launchers with the code cache under the prefix), wrapped to use a `none` config: the shim as
 * a node operator runs it.
 */
async function installedLauncher(dir: string): Promise<string> {
  const dist = join(dir, "dist");
  const prefix = join(dir, "prefix");
  await deno(["bundle", "--quiet", "-o", join(dist, "coco-host.js"), HOST_MAIN]);
  await deno(["bundle", "--quiet", "-o", join(dist, "coco-guest.js"), GUEST_MAIN]);
  await deno(["bundle", "--quiet", "-o", join(dist, "containerd-shim-coco-v2.js"), SHIM_MAIN]);
  const install = new URL("../scripts/install_host.ts", import.meta.url).pathname;
  await deno(["run", "-A", install, "--prefix", prefix, "--dist", dist]);
  const cfg = await noneConfig(dir, "installed.toml", [join(prefix, "bin/coco-guest"), "agent"]);
  const path = join(dir, "installed-shim");
  await Deno.writeTextFile(
    path,
    `#!/bin/sh\nexport COCO_SHIM_CONFIG=${JSON.stringify(cfg)}\nexec ${
      JSON.stringify(join(prefix, "bin/containerd-shim-coco-v2"))
    } "$@"\n`,
    { mode: 0o755 },
  );
  return path;
}

/** Runs the benchmark. */
export async function bench(): Promise<BenchRow[]> {
  const peers = findPeers("containerd", "ctr", "runc", "umoci", "skopeo", "busybox");
  if (!peers.ok || !isRoot()) {
    return [{ name: "shim", note: `skipped: ${peers.reason || "needs root"}` }];
  }
  const dir = await Deno.makeTempDir({ prefix: "shim-bench-" });
  let cd: PrivateContainerd | undefined;
  try {
    const tar = await buildBusyboxArchive(dir, peers.paths.busybox!);
    cd = await startContainerd(dir);
    await cd.ctr(["images", "import", "--base-name", "docker.io/library/tinybusybox", tar]);
    const agent = [Deno.execPath(), "run", "-A", GUEST_MAIN, "agent"];
    const cfg = await noneConfig(dir, "shim.toml", agent);
    const launcher = await writeLauncher(dir, cfg, HOST_MAIN);
    const installed = await installedLauncher(dir);
    const n = runsFromEnv("COCO_BENCH_SHIM_RUNS", 5);
    const [none, inst, runc] = await ctrSeries(
      cd,
      IMAGE,
      [
        { prefix: "none", extra: ["--runtime", launcher] },
        { prefix: "inst", extra: ["--runtime", installed] },
        { prefix: "runc", extra: [] },
      ],
      n,
      1,
    );
    const note = `${n} runs after 1 warm-up, interleaved`;
    return [
      ...breakdownRows("shim (none, sources)", none!.ids, none!.timings, cd.log(), note),
      ...breakdownRows("shim (none, installed)", inst!.ids, inst!.timings, cd.log(), note),
      ...breakdownRows("runc shim", runc!.ids, runc!.timings, "", note).slice(0, 2),
      ...await shimRss(cd, launcher),
      ...await qemuRows(cd, dir, tar, IMAGE),
    ];
  } finally {
    await cd?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) console.table(await bench());
