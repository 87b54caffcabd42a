/**
 * Layer unpack throughput: `unpackLayer()` versus GNU `tar -x` on the same uncompressed tar of
 * mixed files (a few big files, many medium and small ones, symlinks and hard links), at two
 * sizes so peak RSS can be seen to stay flat. Each unpack runs in its own process (ours:
 * `deno run -A bench/unpack.ts child <tar> <dir>`), peak RSS is the child's VmHWM.
 * Run directly: deno run -A bench/unpack.ts [MiB]
 */
import type { BenchRow } from "./_lib.ts";
import { unpackLayer } from "../guest/image/unpack/mod.ts";
import { mount, umount } from "@coco/lib/sys";

const MiB = 1 << 20;

/** Writes the mixed tree for about `total` MiB under `dir`; returns the number of files. */
async function buildTree(dir: string, total: number): Promise<number> {
  const noise = new Uint8Array(MiB);
  for (let off = 0; off < MiB; off += 65536) {
    crypto.getRandomValues(noise.subarray(off, off + 65536));
  }
  const write = async (path: string, size: number) => {
    const f = await Deno.open(path, { write: true, create: true });
    for (let left = size; left > 0; left -= MiB) {
      await f.write(noise.subarray(0, Math.min(MiB, left)));
    }
    f.close();
  };
  const big = Math.max(1, Math.round(total * 0.5 / 25));
  const medium = Math.round(total * 0.25 * 2);
  const small = Math.round(total * 0.25 * 128);
  let n = 0;
  await Deno.mkdir(`${dir}/big`, { recursive: true });
  for (let i = 0; i < big; i++, n++) await write(`${dir}/big/${i}.bin`, 25 * MiB);
  await Deno.mkdir(`${dir}/medium`);
  for (let i = 0; i < medium; i++, n++) await write(`${dir}/medium/${i}.so`, 512 * 1024);
  for (let i = 0; i < small; i++, n++) {
    const d = `${dir}/small/${i % 64}`;
    if (i < 64) await Deno.mkdir(d, { recursive: true });
    await write(`${d}/${i}.py`, 8192);
    if (i % 16 === 0) await Deno.symlink(`${i}.py`, `${d}/${i}.link`);
    if (i % 16 === 1) await Deno.link(`${d}/${i}.py`, `${d}/${i}.hard`);
  }
  return n;
}

interface RunResult {
  seconds: number;
  /** User + system CPU seconds of the child: steadier than wall time on a shared machine. */
  cpu: number;
  rssMiB: number;
}

async function timed(cmd: string, args: string[]): Promise<RunResult> {
  const t0 = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "%M %U %S", cmd, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  const err = new TextDecoder().decode(out.stderr).trim().split("\n");
  if (!out.success) throw new Error(`${cmd} failed: ${err.join(" ")}`);
  const [rss, user, sys] = err[err.length - 1]!.split(" ").map(Number);
  return { seconds, cpu: user! + sys!, rssMiB: rss! / 1024 };
}

async function countEntries(tar: string): Promise<number> {
  const out = await new Deno.Command("tar", { args: ["-tf", tar], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter(Boolean).length;
}

/** Builds a tar of about `mib` MiB and times both unpackers on it (best of `runs`). */
async function compare(work: string, mib: number, runs: number): Promise<BenchRow[]> {
  const src = `${work}/src-${mib}`;
  const tar = `${work}/layer-${mib}.tar`;
  await buildTree(src, mib);
  const made = await new Deno.Command("tar", { args: ["-C", src, "-cf", tar, "."] }).output();
  if (!made.success) throw new Error("tar -c failed");
  await Deno.remove(src, { recursive: true });
  const size = (await Deno.stat(tar)).size / MiB;
  const entries = await countEntries(tar);
  const self = new URL(import.meta.url).pathname;
  const tools: [string, string, (dir: string) => string[]][] = [
    ["coco unpackLayer", Deno.execPath(), (dir) => ["run", "-A", self, "child", tar, dir]],
    ["GNU tar -x", "tar", (dir) => ["-C", dir, "-xpf", tar]],
  ];
  const rows: BenchRow[] = [];
  for (const [name, cmd, args] of tools) {
    let best: RunResult | undefined;
    for (let i = 0; i < runs; i++) {
      const dir = `${work}/out`;
      await Deno.mkdir(dir);
      const r = await timed(cmd, args(dir));
      await Deno.remove(dir, { recursive: true });
      if (!best || r.seconds < best.seconds) {
        best = {
          seconds: r.seconds,
          cpu: Math.min(r.cpu, best?.cpu ?? Infinity),
          rssMiB: Math.max(r.rssMiB, best?.rssMiB ?? 0),
        };
      } else {
        best.cpu = Math.min(best.cpu, r.cpu);
        best.rssMiB = Math.max(best.rssMiB, r.rssMiB);
      }
    }
    rows.push({
      name: `unpack ${size.toFixed(0)} MiB tar, ${entries} entries: ${name}`,
      ops_per_s: Math.round(entries / best!.seconds),
      rss_mb: best!.rssMiB,
      note: `${(size / best!.seconds).toFixed(0)} MiB/s, ${
        best!.seconds.toFixed(2)
      } s wall incl. process start, ${best!.cpu.toFixed(2)} s CPU (user+sys), best of ${runs}`,
      peer: name.startsWith("GNU") ? "" : "GNU tar 1.34 -xpf",
    });
  }
  await Deno.remove(tar);
  return rows;
}

/** Runs the unpack benchmark at about 50 and `mib` (default 200) MiB. */
export async function bench(mib = 200): Promise<BenchRow[]> {
  const work = await Deno.makeTempDir({ prefix: "unpack_bench_" });
  // On a tmpfs (root only) the figures measure the unpackers, not the shared disk.
  const tmpfs = Deno.uid() === 0;
  if (tmpfs) {
    mount({ source: "tmpfs", target: work, fstype: "tmpfs", data: `size=${mib * 3 + 64}m` });
  }
  try {
    const rows = [...await compare(work, Math.round(mib / 4), 2), ...await compare(work, mib, 2)];
    for (const r of rows) r.note += tmpfs ? ", on tmpfs" : ", on the temp dir's disk";
    return rows;
  } finally {
    if (tmpfs) umount(work);
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "child") {
    const file = await Deno.open(Deno.args[1]!);
    const stats = await unpackLayer(file.readable, Deno.args[2]!);
    console.log(JSON.stringify(stats));
  } else {
    for (const r of await bench(Number(Deno.args[0] ?? 200))) console.log(r);
  }
}
