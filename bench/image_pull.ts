/**
 * Image pull benchmark against a private docker-registry on loopback: a generated multi-layer
 * image (many small files, medium files, one large incompressible file) pulled and unpacked by
 * `coco-guest pull` (rootfs by overlay), by `skopeo copy` + `umoci unpack`, and by `ctr images
 * pull` on a private containerd when it can start. Also a single 200 MiB layer, to show that peak
 * RSS does not grow with layer size. Wall time, MiB/s (compressed bytes) and peak RSS (from
 * `/usr/bin/time`; for containerd, the daemon's VmHWM is added to ctr's).
 */
import { which } from "../tests/peers.ts";
import { run, startRegistry } from "../guest/image/_testing/real_registry.ts";
import { type GenFile, writeOciLayout } from "../guest/image/_testing/oci_layout.ts";
import { type BenchRow, rssMiB } from "./_lib.ts";

// The pull command alone: other guest roles are not loaded (same code as `coco-guest pull`).
const MAIN = new URL("../guest/image/main.ts", import.meta.url).pathname;

/** Runs a command under /usr/bin/time; returns seconds and peak RSS (MiB). */
async function timed(
  cmd: string[],
  env: Record<string, string> = {},
): Promise<{ secs: number; rss: number }> {
  const t0 = performance.now();
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "MAXRSS=%M", ...cmd],
    stdin: "null",
    env,
  }).output();
  const secs = (performance.now() - t0) / 1000;
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd.join(" ")} failed:\n${err.slice(-2000)}`);
  return { secs, rss: Number(err.match(/MAXRSS=(\d+)/)?.[1] ?? NaN) / 1024 };
}

function mixedImage(): GenFile[][] {
  const small: GenFile[] = [];
  for (let i = 0; i < 3000; i++) {
    small.push({ path: `usr/lib/pkg${i % 30}/f${i}.txt`, size: 1024 + (i * 37) % 60000 });
  }
  const medium: GenFile[] = [];
  for (let i = 0; i < 40; i++) {
    medium.push({ path: `opt/app/lib${i}.so`, size: (1 + (i % 4)) << 20, random: i % 2 === 0 });
  }
  return [small, medium, [{ path: "data/model.bin", size: 120 << 20, random: true }], [{
    path: "etc/motd",
    size: 100,
  }]];
}

async function startContainerd(
  dir: string,
): Promise<{ sock: string; pid: number; stop: () => Promise<void> } | undefined> {
  const bin = which("containerd");
  if (!bin || !which("ctr") || Deno.uid() !== 0) return undefined;
  await Deno.mkdir(dir, { recursive: true });
  const sock = `${dir}/containerd.sock`;
  await Deno.writeTextFile(
    `${dir}/config.toml`,
    [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
      "[grpc]",
      `  address = "${sock}"`,
      "[ttrpc]",
      `  address = "${sock}.ttrpc"`,
      "[debug]",
      `  address = "${dir}/debug.sock"`,
      "[metrics]",
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${dir}/opt"`,
    ].join("\n"),
  );
  const child = new Deno.Command(bin, {
    args: ["--config", `${dir}/config.toml`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    const ok = await new Deno.Command("ctr", {
      args: ["-a", sock, "version"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (ok.success) {
      return {
        sock,
        pid: child.pid,
        stop: async () => {
          child.kill("SIGTERM");
          await child.status;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 100)); // bench only: containerd has no readiness line on stdout
  }
  child.kill("SIGKILL");
  await child.status;
  return undefined;
}

/** Runs the image pull benchmarks. */
export async function bench(): Promise<BenchRow[]> {
  const reg = which("docker-registry");
  const skopeo = which("skopeo");
  if (!reg || !skopeo) {
    return [{ name: "image pull", note: "SKIPPED: docker-registry or skopeo missing" }];
  }
  const work = await Deno.makeTempDir({ prefix: "bench-pull-" });
  const registry = await startRegistry(reg, `${work}/registry`);
  const rows: BenchRow[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  try {
    const images: [string, GenFile[][]][] = [["mixed", mixedImage()], ["big", [[{
      path: "big.bin",
      size: 200 << 20,
      random: true,
    }]]]];
    const sizes: Record<string, number> = {};
    for (const [name, layers] of images) {
      sizes[name] = (await writeOciLayout(`${work}/oci-${name}`, "1", layers)).bytes;
      await run(skopeo, [
        "copy",
        "--dest-tls-verify=false",
        `oci:${work}/oci-${name}:1`,
        `docker://${registry.host}/bench/${name}:1`,
      ]);
    }
    const conf = `${work}/registries.conf`;
    await Deno.writeTextFile(
      conf,
      `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`,
    );
    const row = (
      name: string,
      image: string,
      t: { secs: number; rss: number },
      peer?: string,
    ): BenchRow => ({
      name: `${name} (${image}, ${(sizes[image]! / 2 ** 20).toFixed(0)} MiB gz)`,
      ops_per_s: 1 / t.secs,
      p50_ms: t.secs * 1000,
      rss_mb: t.rss,
      note: `${(sizes[image]! / 2 ** 20 / t.secs).toFixed(1)} MiB/s`,
      ...(peer ? { peer } : {}),
    });
    for (const [image] of images) {
      const ref = `${registry.host}/bench/${image}:1`;
      for (
        const [label, env] of [["default V8 heap", ""], [
          "DENO_V8_FLAGS=--max-semi-space-size=1",
          "--max-semi-space-size=1",
        ]]
      ) {
        const tag = `${image}-${env ? "tuned" : "default"}`;
        const t = await timed([
          Deno.execPath(),
          "run",
          "-A",
          MAIN,
          "pull",
          ref,
          "--dir",
          `${work}/b-${tag}`,
          "--work-dir",
          `${work}/store-${tag}`,
          "--registries-conf",
          conf,
          "--progress",
          "none",
          "--rootfs",
          "overlay",
        ], env ? { DENO_V8_FLAGS: env } : {});
        cleanups.push(() => run("umount", [`${work}/b-${tag}/rootfs`]).then(() => {}));
        rows.push({ ...row(`coco-guest pull + overlay bundle, ${label}`, image, t) });
      }
      const copy = await timed([
        skopeo,
        "copy",
        "--src-tls-verify=false",
        `docker://${ref}`,
        `oci:${work}/sk-${image}:1`,
      ]);
      const umoci = which("umoci");
      const unpack = umoci
        ? await timed([umoci, "unpack", "--image", `${work}/sk-${image}:1`, `${work}/u-${image}`])
        : { secs: 0, rss: NaN };
      rows.push(
        row("skopeo copy + umoci unpack", image, {
          secs: copy.secs + unpack.secs,
          rss: Math.max(copy.rss, unpack.rss),
        }, "skopeo+umoci"),
      );
    }
    const ctd = await startContainerd(`${work}/containerd`);
    if (ctd) {
      cleanups.push(ctd.stop);
      for (const [image] of images) {
        const before = await rssMiB(ctd.pid, "VmRSS");
        const t = await timed([
          "ctr",
          "-a",
          ctd.sock,
          "images",
          "pull",
          "--plain-http",
          `${registry.host}/bench/${image}:1`,
        ]);
        const daemon = await rssMiB(ctd.pid);
        rows.push({
          ...row("ctr images pull (fetch + unpack)", image, t, "containerd 1.6"),
          note: `${row("", image, t).note}; ctr ${t.rss.toFixed(0)} MiB + containerd peak ${
            daemon.toFixed(0)
          } MiB (was ${before.toFixed(0)})`,
        });
      }
    } else {rows.push({
        name: "ctr images pull",
        note: "SKIPPED: containerd/ctr missing, not root, or did not start",
      });}
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await registry.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
  return rows;
}

if (import.meta.main) {
  for (const r of await bench()) console.log(JSON.stringify(r));
}
