/**
 * Shim benchmark with a private containerd 1.6 and `ctr`: time from `ctr run` to the container's
 * first output byte (process running) and to exit, with our shim (hypervisor.type = none: the
 * agent as a local process + runc) next to containerd's own runc shim on the same image; the
 * serving shim's and local agent's RSS; and the QEMU pod VM's boot-to-agent-ready time through
 * the shim's backend (TCG here). Needs root, containerd, ctr, runc, umoci, skopeo, busybox.
 */
import { join } from "node:path";
import { nullLogger } from "@coco/lib/log";
import {
  buildBusyboxArchive,
  type PrivateContainerd,
  startContainerd,
  writeLauncher,
} from "../host/shim/_containerd_harness.ts";
import { startBackend } from "../host/shim/backend.ts";
import { parseShimConfig } from "../host/shim/config.ts";
import { findPeers, isRoot } from "../tests/peers.ts";
import { type BenchRow, percentile, rssMiB } from "./_lib.ts";

const RUNS = 5;
const IMAGE = "docker.io/library/tinybusybox:latest";

async function timeRun(cd: PrivateContainerd, runtime: string[], id: string) {
  const t0 = performance.now();
  const child = new Deno.Command("ctr", {
    args: ["-a", cd.socket, "run", ...runtime, "--rm", IMAGE, id, "echo", "hi"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const first = performance.now() - t0;
  if (new TextDecoder().decode(value) !== "hi\n") throw new Error(`ctr run ${id} printed no "hi"`);
  while (!(await reader.read()).done) { /* drain */ }
  await child.status;
  return { first, total: performance.now() - t0 };
}

async function series(cd: PrivateContainerd, name: string, runtime: string[], peer?: string) {
  const first: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await timeRun(cd, runtime, `${name.replace(/[^a-z]+/g, "-")}${i}`);
    first.push(r.first);
    total.push(r.total);
  }
  return [
    {
      name: `${name}: ctr run → process running`,
      p50_ms: percentile(first, 50),
      p99_ms: percentile(first, 99),
      ...(peer ? { peer } : {}),
    },
    {
      name: `${name}: ctr run --rm → exited`,
      p50_ms: percentile(total, 50),
      p99_ms: percentile(total, 99),
    },
  ] as BenchRow[];
}

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

async function vmBoot(): Promise<BenchRow[]> {
  if (Deno.env.get("COCO_BENCH_VM") === "0") return [];
  const qemu = findPeers("qemu-system-x86_64");
  const kernel = "dist/guest/vmlinuz";
  if (!qemu.ok || !(await Deno.stat(kernel).then(() => true, () => false))) {
    return [{ name: "shim: pod VM boot → agent ready", note: "skipped: no QEMU or dist/guest" }];
  }
  const runDir = await Deno.makeTempDir({ prefix: "shim-bench-vm-" });
  try {
    const cfg = parseShimConfig({
      hypervisor: { type: "qemu", kernel, initrd: "dist/guest/initrd.img", memory_mib: 1024 },
    });
    const t0 = performance.now();
    const b = await startBackend(cfg, { sandboxId: "bench", runDir }, nullLogger);
    const ms = performance.now() - t0;
    const rss = await rssMiB(b.pid, "VmRSS");
    await b.stop();
    return [{
      name: "shim: pod VM boot → agent ready (1 run)",
      p50_ms: ms,
      rss_mb: rss,
      note: "QEMU RSS",
    }];
  } finally {
    await Deno.remove(runDir, { recursive: true }).catch(() => {});
  }
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
    const cfg = join(dir, "shim.toml");
    const agent = [
      Deno.execPath(),
      "run",
      "-A",
      new URL("../guest/main.ts", import.meta.url).pathname,
      "agent",
    ];
    await Deno.writeTextFile(
      cfg,
      `[shim]\nruntime_dir = "${dir}/run"\nsocket_dir = "${dir}/s"\nlocal_agent_command = ${
        JSON.stringify(agent)
      }\n[hypervisor]\ntype = "none"\n`,
    );
    const launcher = await writeLauncher(
      dir,
      cfg,
      new URL("../host/main.ts", import.meta.url).pathname,
    );
    return [
      ...await series(cd, "shim (none)", ["--runtime", launcher], "runc shim below"),
      ...await series(cd, "runc shim", []),
      ...await shimRss(cd, launcher),
      ...await vmBoot(),
    ];
  } finally {
    await cd?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) console.table(await bench());
