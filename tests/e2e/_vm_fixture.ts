/**
 * One pod VM for the in-VM agent test and bench: builds the guest image (a no-op when current),
 * starts a private docker-registry on loopback with a busybox image pushed by skopeo, writes an
 * init-data disk (policy, aa.toml, cdh.toml whose `[image]` marks the registry insecure), boots
 * QEMU with host/vm's PodVm — the registry reachable from the guest only at 10.0.2.100:5000
 * through `restrict=on` + `guestfwd` — and connects the AgentClient over virtio-serial.
 * `close()` stops QEMU, the registry and removes the work dir.
 */
import { join } from "node:path";
import { encodeInitDataDisk } from "@coco/lib/initdata";
import { AgentClient } from "../../host/agent_client/mod.ts";
import { DEFAULT_HYPERVISOR, PodVm } from "../../host/vm/mod.ts";
import {
  buildWithUmoci,
  type RealRegistry,
  run,
  startRegistry,
} from "../../guest/image/_testing/real_registry.ts";
import { findPeers, isRoot, type Peers, requireAlso } from "../peers.ts";
import { runDeno } from "../harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const GUEST = join(ROOT, "dist/guest");
/** Where the guest reaches the host registry. */
export const REGISTRY_IN_GUEST = "10.0.2.100:5000";
const dec = new TextDecoder();

function hasKernel(): boolean {
  try {
    return [...Deno.readDirSync("/boot")].some((e) => e.name.startsWith("vmlinuz-"));
  } catch {
    return false;
  }
}

/** Peers the VM scenario needs (runc goes into the guest image). */
export function vmPeers(): Peers {
  return requireAlso(
    requireAlso(
      findPeers("qemu-system-x86_64", "docker-registry", "skopeo", "umoci", "busybox", "runc"),
      isRoot(),
      "needs root (umoci unpack keeps ownership)",
    ),
    hasKernel(),
    "no Debian kernel in /boot for the guest image (apt-get install linux-image-amd64)",
  );
}

const POLICY = await Deno.readTextFile(join(ROOT, "guest/agent/policies/default.rego"));
/** The default policy, letting the host exec into and read from guest-pulled containers. */
export const OPEN_POLICY = POLICY
  .replace('"allow_exec_in_confidential": false', '"allow_exec_in_confidential": true')
  .replace('"allow_stdio_from_confidential": false', '"allow_stdio_from_confidential": true');
/** The same with every ExecProcessRequest rule false. */
export const NO_EXEC_POLICY = OPEN_POLICY
  .replace(
    "ExecProcessRequest if not confidential(input.container_id)",
    "ExecProcessRequest if false",
  )
  .replace(
    "ExecProcessRequest if policy_data.allow_exec_in_confidential",
    "ExecProcessRequest if false",
  );

function initDataToml(): string {
  const cdh = [
    "[kbc]",
    'name = "offline_fs_kbc"',
    "[image]",
    'work_dir = "/run/kata-containers/image"',
    "[[image.registry_config.registry]]",
    `location = "${REGISTRY_IN_GUEST}"`,
    "insecure = true",
    "",
  ].join("\n");
  const q = (s: string) => JSON.stringify(s);
  return [
    'version = "0.1.0"',
    'algorithm = "sha256"',
    "[data]",
    `"aa.toml" = ${q("[token_configs]\n")}`,
    `"cdh.toml" = ${q(cdh)}`,
    `"policy.rego" = ${q(OPEN_POLICY)}`,
    "",
  ].join("\n");
}

function busyboxLayer(busybox: string) {
  return async (rootfs: string) => {
    for (const d of ["bin", "proc", "dev", "sys", "tmp", "etc", "secure", "loop"]) {
      await Deno.mkdir(join(rootfs, d), { recursive: true });
    }
    await Deno.copyFile(busybox, join(rootfs, "bin/busybox"));
    await Deno.chmod(join(rootfs, "bin/busybox"), 0o755);
    for (const t of ["sh", "cat", "echo", "sleep", "grep", "sync", "true", "head"]) {
      await Deno.symlink("busybox", join(rootfs, "bin", t));
    }
  };
}

type Mount = { destination: string; source: string; type: string; options: string[] };

/** An OCI spec (agent form) for container `cid` whose rootfs the guest pulls. */
export function spec(cid: string, args: string[], mounts: Mount[] = []) {
  return {
    Version: "1.0.2",
    Process: { Args: args, Env: ["PATH=/bin"], Cwd: "/", User: { UID: 0, GID: 0 } },
    Root: { Path: `/run/kata-containers/${cid}/rootfs` },
    Hostname: "vm-e2e",
    Mounts: [
      { destination: "/proc", type: "proc", source: "proc", options: [] },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755"] },
      ...mounts,
    ],
    Linux: { Namespaces: [{ Type: "pid" }, { Type: "ipc" }, { Type: "uts" }, { Type: "mount" }] },
  };
}

/** The `image_guest_pull` storage for `image` as the shim sends it. */
export function pulled(cid: string, image: string) {
  return [{
    driver: "image_guest_pull",
    source: image,
    fstype: "overlay",
    mountPoint: `/run/kata-containers/${cid}/rootfs`,
    driverOptions: [`image_guest_pull=${JSON.stringify({ metadata: {} })}`],
  }];
}

/** Reads stdout until it holds `want` (or EOF). */
export async function readUntil(c: AgentClient, cid: string, eid: string, want: string) {
  let text = "";
  while (!text.includes(want)) {
    const { data } = await c.agent.readStdout({ containerId: cid, execId: eid, len: 4096 });
    if (data.length === 0) break;
    text += dec.decode(data);
  }
  return text;
}

/** A booted pod VM with its registry. */
export interface VmFixture {
  vm: PodVm;
  client: AgentClient;
  registry: RealRegistry;
  /** Image references as the guest sees them, one per tag pushed. */
  images: string[];
  /** `performance.now()` just before PodVm.start (boot time reference). */
  bootStart: number;
  console(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Builds the image, pushes `tags` busybox images, boots the VM. `watchdogMs`: QEMU is killed
 * after this long so a hung guest fails the caller instead of hanging it.
 */
export async function startVmFixture(
  peers: Peers,
  opts: { tags?: string[]; watchdogMs?: number } = {},
): Promise<VmFixture> {
  const build = await runDeno([
    "run",
    "-A",
    join(ROOT, "scripts/build_guest_image.ts"),
    "--out",
    GUEST,
  ]);
  if (build.code !== 0) throw new Error(`guest image build failed:\n${build.stderr}`);
  const work = await Deno.makeTempDir({ prefix: "vm-e2e-" });
  let registry: RealRegistry | undefined;
  let vm: PodVm | undefined;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const close = async () => {
    clearTimeout(watchdog);
    if (vm && !vm.status) await vm.stop();
    await registry?.stop();
    await Deno.remove(work, { recursive: true }).catch(() => {});
  };
  try {
    registry = await startRegistry(peers.paths["docker-registry"]!, join(work, "registry"));
    const images: string[] = [];
    for (const tag of opts.tags ?? ["1"]) {
      const layout = join(work, `oci-${tag}`);
      // One layer holding the tag too, so every tag is a fresh pull (no shared layer).
      const layer = async (rootfs: string) => {
        await busyboxLayer(peers.paths.busybox!)(rootfs);
        await Deno.writeTextFile(join(rootfs, "etc/tag"), tag);
      };
      const ref = await buildWithUmoci(peers.paths.umoci!, layout, "busybox", [layer], [
        "--config.cmd",
        "sh",
      ]);
      await run(peers.paths.skopeo!, [
        "copy",
        "--dest-tls-verify=false",
        ref,
        `docker://${registry.host}/e2e/busybox:${tag}`,
      ]);
      images.push(`${REGISTRY_IN_GUEST}/e2e/busybox:${tag}`);
    }
    const disk = join(work, "initdata.img");
    await Deno.writeFile(disk, await encodeInitDataDisk(initDataToml()));
    const bootStart = performance.now();
    vm = await PodVm.start(
      {
        ...DEFAULT_HYPERVISOR,
        kernel: join(GUEST, "vmlinuz"),
        initrd: join(GUEST, "initrd.img"),
        memoryMiB: 1024,
        // One vCPU, as the containerd scenarios (see qemuShimToml in _containerd_fixture.ts).
        vcpus: 1,
      },
      {
        id: "vm-e2e",
        runDir: join(work, "vm"),
        initDataDisk: disk,
        forwards: [{
          guestAddr: "10.0.2.100",
          guestPort: 5000,
          hostPort: Number(registry.host.split(":")[1]),
        }],
        extraKernelParams: "agent.tee=sample",
      },
    );
    const theVm = vm;
    watchdog = setTimeout(() => theVm.killNow(), opts.watchdogMs ?? 240_000);
    const client = await AgentClient.connect(`unix://${vm.paths.agentSocket}`);
    return {
      vm,
      client,
      registry,
      images,
      bootStart,
      console: () => Deno.readTextFile(theVm.paths.console).catch(() => ""),
      async close() {
        await client.close().catch(() => {});
        await close();
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}
