/**
 * The QEMU half of bench/shim.ts: `ctr run` with our shim booting a pod VM per run (TCG here)
 * and pulling busybox inside the guest from a loopback docker-registry (forwarded into the guest
 * at 10.0.2.100:5000), broken down by the shim's phase lines; next to it, plain `ctr run` with
 * runc on the same image, pulled fresh from the same registry each run (`ctr images pull`).
 */
import { join } from "node:path";
import { initDataAnnotation } from "@coco/lib/initdata";
import { type PrivateContainerd, writeLauncher } from "../host/shim/_containerd_harness.ts";
import { type RealRegistry, run, startRegistry } from "../guest/image/_testing/real_registry.ts";
import { OPEN_POLICY, REGISTRY_IN_GUEST } from "../tests/e2e/_vm_fixture.ts";
import { findPeers } from "../tests/peers.ts";
import { type BenchRow, percentile } from "./_lib.ts";
import { breakdownRows, ctrSeries, runsFromEnv, timeCtrRun } from "./_pod_start.ts";

const GUEST = new URL("../dist/guest", import.meta.url).pathname;
const HOST_MAIN = new URL("../host/main.ts", import.meta.url).pathname;

async function exists(p: string): Promise<boolean> {
  return await Deno.stat(p).then(() => true, () => false);
}

/** Why the QEMU rows cannot run here, or undefined when they can. */
export async function qemuSkipReason(): Promise<string | undefined> {
  if (Deno.env.get("COCO_BENCH_VM") === "0") return "COCO_BENCH_VM=0";
  const peers = findPeers("qemu-system-x86_64", "docker-registry");
  if (!peers.ok) return peers.reason;
  for (const f of ["vmlinuz", "initrd.img"]) {
    if (!(await exists(join(GUEST, f)))) {
      return `no ${GUEST}/${f} (scripts/build-guest-image)`;
    }
  }
  return undefined;
}

async function shimConfig(dir: string, registryPort: number): Promise<string> {
  const cfg = join(dir, "qemu-shim.toml");
  await Deno.writeTextFile(
    cfg,
    `[shim]\nruntime_dir = "${dir}/run-qemu"\nsocket_dir = "${dir}/s"\nforce_guest_pull = true\n` +
      `create_container_timeout = 300\n` +
      `guest_forwards = [{ guest = "${REGISTRY_IN_GUEST}", host_port = ${registryPort} }]\n` +
      `[hypervisor]\ntype = "qemu"\nkernel = "${GUEST}/vmlinuz"\ninitrd = "${GUEST}/initrd.img"\n` +
      // Development only: no TEE on this machine, so the sample attester, named explicitly.
      `kernel_params = "console=ttyS0 rdinit=/init panic=-1 quiet agent.tee=sample"\n`,
  );
  await Deno.mkdir(join(dir, "qemu"), { recursive: true });
  return await writeLauncher(join(dir, "qemu"), cfg, HOST_MAIN);
}

/** Annotations: the image the guest pulls, init-data (registry insecure), an open policy. */
async function podAnnotations(): Promise<string[]> {
  const cdhToml =
    `[kbc]\nname = "offline_fs_kbc"\n[image]\nwork_dir = "/run/kata-containers/image"\n` +
    `[[image.registry_config.registry]]\nlocation = "${REGISTRY_IN_GUEST}"\ninsecure = true\n`;
  const initData = `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = ${
    JSON.stringify("[token_configs]\n")
  }\n"cdh.toml" = ${JSON.stringify(cdhToml)}\n`;
  const policy = new TextEncoder().encode(OPEN_POLICY).toBase64();
  return [
    `io.kubernetes.cri.image-name=${REGISTRY_IN_GUEST}/bench/busybox:1`,
    `io.katacontainers.config.hypervisor.cc_init_data=${await initDataAnnotation(initData)}`,
    `io.katacontainers.config.agent.policy=${policy}`,
  ].flatMap((a) => ["--annotation", a]);
}

/** runc: `ctr images pull` from the registry, then `ctr run`, the image removed before each. */
async function runcFreshPull(cd: PrivateContainerd, ref: string, n: number): Promise<BenchRow> {
  const first: number[] = [];
  for (let i = 0; i < n; i++) {
    await cd.ctr(["images", "rm", "--sync", ref]);
    const t0 = performance.now();
    const pull = await cd.ctr(["images", "pull", "--plain-http", ref]);
    if (pull.code !== 0) throw new Error(`ctr images pull ${ref}: ${pull.stderr}`);
    const r = await timeCtrRun(cd, [], ref, `runc-pull${i}`);
    first.push(performance.now() - t0 - r.total + r.first);
  }
  return {
    name: "runc shim: ctr images pull + ctr run → process running",
    p50_ms: Math.round(percentile(first, 50) * 10) / 10,
    p99_ms: Math.round(percentile(first, 99) * 10) / 10,
    note: `${n} runs, fresh pull from the loopback registry each run`,
  };
}

/**
 * The QEMU rows (`COCO_BENCH_VM_RUNS` runs, default 3). `tar` is the busybox oci-archive
 * already imported into containerd as `image`.
 */
export async function qemuRows(
  cd: PrivateContainerd,
  dir: string,
  tar: string,
  image: string,
): Promise<BenchRow[]> {
  const skip = await qemuSkipReason();
  if (skip) return [{ name: "shim (qemu): pod start breakdown", note: `skipped: ${skip}` }];
  const n = runsFromEnv("COCO_BENCH_VM_RUNS", 3);
  let registry: RealRegistry | undefined;
  try {
    registry = await startRegistry(
      findPeers("docker-registry").paths["docker-registry"]!,
      join(
        dir,
        "registry",
      ),
    );
    await run(findPeers("skopeo").paths.skopeo!, [
      "copy",
      "--dest-tls-verify=false",
      `oci-archive:${tar}`,
      `docker://${registry.host}/bench/busybox:1`,
    ]);
    const launcher = await shimConfig(dir, Number(registry.host.split(":")[1]));
    const extra = ["--runtime", launcher, ...await podAnnotations()];
    const [vm] = await ctrSeries(cd, image, [{ prefix: "qemu", extra }], n);
    const ref = `${registry.host}/bench/busybox:1`;
    return [
      ...breakdownRows("shim (qemu)", vm!.ids, vm!.timings, cd.log(), `${n} runs, VM per run`),
      await runcFreshPull(cd, ref, n),
    ];
  } catch (err) {
    return [{ name: "shim (qemu): pod start breakdown", note: `failed: ${err}` }];
  } finally {
    await registry?.stop();
  }
}
