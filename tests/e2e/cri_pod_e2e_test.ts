/**
 * A Kubernetes-shaped pod in a QEMU pod VM, driven the way kubelet drives it: CRI gRPC calls to a
 * private containerd 1.6 whose runtime handler `coco` is this checkout's shim (force guest pull).
 * RunPodSandbox boots ONE VM and runs the sandbox container from the guest's `/pause_bundle`;
 * busybox containers are pulled inside the guest from a loopback registry; ContainerStatus shows
 * their states and exit codes; StopPodSandbox + RemovePodSandbox leave no QEMU behind.
 *
 * The sandbox image here is busybox (its command `/bin/sh`), but the guest copies only `/pause`
 * into the sandbox rootfs: RunPodSandbox succeeding, and the sandbox staying READY while the
 * other containers run (its exit would tear the VM down), shows the agent ran the bundle's
 * process in place of the image's. Output is not asserted (no CRI log directory is set).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  buildBusyboxArchive,
  type PrivateContainerd,
  startContainerd,
  writeLauncher,
} from "../../host/shim/_containerd_harness.ts";
import { initDataAnnotation } from "@coco/lib/initdata";
import { type RealRegistry, startRegistry } from "../../guest/image/_testing/real_registry.ts";
import { skipUnless } from "../peers.ts";
import { OPEN_POLICY, REGISTRY_IN_GUEST } from "./_vm_fixture.ts";
import {
  assertNoBackendLeft,
  buildGuestImage,
  containerdVmPeers,
  GUEST,
  pushArchive,
  qemuShimToml,
} from "./_containerd_fixture.ts";
import { CONTAINER_STATE, type CriPod, CriRuntime } from "./_cri.ts";

const HOST_MAIN = new URL("../../host/main.ts", import.meta.url).pathname;
/** containerd 1.6's default `sandbox_image`: tagged locally so the CRI plugin never pulls it. */
const SANDBOX_IMAGE = "registry.k8s.io/pause:3.6";
const APP_IMAGE = `${REGISTRY_IN_GUEST}/e2e/busybox:1`;

const peers = containerdVmPeers("gcc");

/**
 * The CRI plugin's runtime handler `coco` → `containerd-shim-coco-v2`, found on containerd's
 * PATH (containerd 1.6.20's CRI plugin parses `runtime_path` but the shim manager ignores it).
 */
function criConfig(): string {
  // Naming one runtime replaces the default map, so runc (the default handler) is named too.
  return `[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.coco]
  runtime_type = "io.containerd.coco.v2"
  pod_annotations = ["io.katacontainers.*"]
`;
}

async function podAnnotations(): Promise<Record<string, string>> {
  const cdhToml =
    `[kbc]\nname = "offline_fs_kbc"\n[image]\nwork_dir = "/run/kata-containers/image"\n` +
    `[[image.registry_config.registry]]\nlocation = "${REGISTRY_IN_GUEST}"\ninsecure = true\n`;
  const initData = `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = ${
    JSON.stringify("[token_configs]\n")
  }\n"cdh.toml" = ${JSON.stringify(cdhToml)}\n`;
  return {
    "io.katacontainers.config.hypervisor.cc_init_data": await initDataAnnotation(initData),
    "io.katacontainers.config.agent.policy": new TextEncoder().encode(OPEN_POLICY).toBase64(),
  };
}

/**
 * Polls ContainerStatus until `state` (kubelet's PLEG polls the same way: CRI has no wait);
 * at most `seconds`, 200 ms apart. Returns the last status either way.
 */
async function waitState(cri: CriRuntime, id: string, state: number, seconds: number) {
  let st = await cri.containerStatus(id);
  for (let i = 0; i < seconds * 5 && st.state !== state; i++) {
    await new Promise((r) => setTimeout(r, 200));
    st = await cri.containerStatus(id);
  }
  return st;
}

/** SIGKILLs (by PID) processes whose command line names `runDir`. */
async function killLeftovers(runDir: string): Promise<void> {
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    const cmd = await Deno.readTextFile(`/proc/${e.name}/cmdline`).catch(() => "");
    if (cmd.includes(runDir)) {
      try {
        Deno.kill(Number(e.name), "SIGKILL");
      } catch { /* gone */ }
    }
  }
}

Deno.test({
  name:
    "CRI pod in a QEMU VM: pause from /pause_bundle, guest-pulled containers, exit codes, cleanup",
  ...skipUnless(peers, "CRI pod e2e in a QEMU VM"),
  fn: async (t) => {
    await buildGuestImage(); // re-bundles this checkout's agent into the image
    const manifest = JSON.parse(await Deno.readTextFile(join(GUEST, "manifest.json")));
    assert.equal(manifest.pause_bundle, true, "the guest image holds /pause_bundle");

    const dir = await Deno.makeTempDir({ prefix: "cri-pod-e2e-" });
    // The shim's run directory is <runtime_dir>/<64-hex sandbox id>/vm/qmp.sock: keep the
    // prefix short so the socket path stays under the 108-byte limit of unix sockets.
    const short = await Deno.makeTempDir({ prefix: "c" });
    let cd: PrivateContainerd | undefined;
    let registry: RealRegistry | undefined;
    let cri: CriRuntime | undefined;
    let podId = "";
    try {
      const tar = await buildBusyboxArchive(dir, peers.paths.busybox!);
      registry = await startRegistry(peers.paths["docker-registry"]!, join(dir, "registry"));
      await pushArchive(peers.paths.skopeo!, tar, `${registry.host}/e2e/busybox:1`);
      const port = Number(registry.host.split(":")[1]);
      const cfg = join(dir, "shim.toml");
      await Deno.writeTextFile(
        cfg,
        qemuShimToml({
          runtimeDir: `${short}/run`,
          socketDir: `${short}/s`,
          forceGuestPull: true,
          createTimeoutS: 150,
          forwards: [{ guest: REGISTRY_IN_GUEST, hostPort: port }],
        }),
      );
      await Deno.mkdir(join(short, "run"));
      await writeLauncher(dir, cfg, HOST_MAIN);
      const options = {
        extraConfig: criConfig(),
        env: { PATH: `${dir}:${Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` },
      };
      // The CRI plugin must know both image names (the pause image and the app image, whose
      // layers the host never needs): import + tag, then restart so the CRI store loads them.
      cd = await startContainerd(dir, options);
      for (
        const args of [
          ["images", "import", "--base-name", "docker.io/library/tinybusybox", tar],
          ["images", "tag", "docker.io/library/tinybusybox:latest", SANDBOX_IMAGE],
          ["images", "tag", "docker.io/library/tinybusybox:latest", APP_IMAGE],
        ]
      ) {
        const r = await cd.ctr(["-n", "k8s.io", ...args]);
        assert.equal(r.code, 0, `ctr ${args.join(" ")}: ${r.stderr}`);
      }
      await cd.stop();
      cd = await startContainerd(dir, options);
      cri = new CriRuntime(cd.socket);
      const c = cri;
      const logs = () => cd?.log().slice(-4000) ?? "";
      const pod: CriPod = {
        name: "pause-e2e",
        namespace: "default",
        uid: crypto.randomUUID(),
        annotations: await podAnnotations(),
      };

      await t.step("RunPodSandbox boots the pod VM and starts the pause container", async () => {
        podId = await c.runPodSandbox(pod, "coco").catch((err) => {
          throw new Error(`RunPodSandbox: ${err.message}\n${logs()}`);
        });
        assert.match(podId, /^[0-9a-f]{64}$/);
        assert.equal(await c.podSandboxState(podId), 0, "SANDBOX_READY");
      });

      await t.step("a guest-pulled container exits with its own exit code", async () => {
        assert.ok(podId, "needs the pod of the first step");
        const id = await c.createContainer(podId, pod, "exit3", APP_IMAGE, [
          "sh",
          "-c",
          "exit 3",
        ]).catch((err) => {
          throw new Error(`CreateContainer: ${err.message}\n${logs()}`);
        });
        assert.equal((await c.containerStatus(id)).state, CONTAINER_STATE.CREATED);
        await c.startContainer(id);
        const st = await waitState(c, id, CONTAINER_STATE.EXITED, 120);
        assert.equal(st.state, CONTAINER_STATE.EXITED, JSON.stringify(st));
        assert.equal(st.exitCode, 3);
        assert.equal(st.reason, "Error");
      });

      await t.step(
        "a long-running container is RUNNING, then stops with SIGKILL's 137",
        async () => {
          assert.ok(podId, "needs the pod of the first step");
          const id = await c.createContainer(podId, pod, "sleeper", APP_IMAGE, ["sleep", "1000"]);
          await c.startContainer(id);
          assert.equal((await c.containerStatus(id)).state, CONTAINER_STATE.RUNNING);
          assert.equal(await c.podSandboxState(podId), 0, "the pause container still runs");
          await c.stopContainer(id, 5);
          const st = await c.containerStatus(id);
          assert.equal(st.state, CONTAINER_STATE.EXITED, JSON.stringify(st));
          assert.equal(st.exitCode, 137);
        },
      );

      await t.step("StopPodSandbox + RemovePodSandbox stop the VM and leave nothing", async () => {
        assert.ok(podId, "needs the pod of the first step");
        await c.stopPodSandbox(podId);
        assert.equal(await c.podSandboxState(podId), 1, "SANDBOX_NOTREADY");
        await c.removePodSandbox(podId);
        await assertNoBackendLeft(short);
        const ls = await cd!.ctr(["-n", "k8s.io", "tasks", "ls", "-q"]);
        assert.equal(ls.stdout.trim(), "");
      });
    } finally {
      if (cri && podId) {
        // A failed step must not leave the VM running: ask the CRI first, then stop by PID
        // whatever still names this test's run directory (QEMU, shim).
        await cri.stopPodSandbox(podId).catch(() => {});
        await cri.removePodSandbox(podId).catch(() => {});
      }
      await killLeftovers(join(short, "run"));
      cri?.close();
      await cd?.stop();
      await registry?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.remove(short, { recursive: true }).catch(() => {});
    }
  },
});
