/**
 * The whole host side with a real containerd 1.6: ONE private containerd (own root, state and
 * sockets in a temp dir, stopped by PID) with our shim (absolute launcher path) and our proxy
 * snapshotter `coco`, a loopback docker-registry, and QEMU pod VMs (TCG here).
 *
 * - A CRI PullImage (as kubelet pulls; `ctr images pull` in 1.6 would download every layer)
 *   goes through the snapshotter: the content store holds no layer blob of the image.
 * - `ctr run --runtime <launcher> --snapshotter coco` boots a pod VM, the image is pulled inside
 *   the guest from the registry (shim.guest_forwards), output reaches ctr; `ctr task exec` works
 *   when the policy allows the exec and fails when it does not; kill / delete stop the VM.
 * - Faults: QEMU killed mid-run → TaskExit with 137 and cleanup; a frozen agent (SIGSTOP, in
 *   `hypervisor.type = "none"` mode: no VM needed) → the call fails with a deadline error.
 *
 * Longer than most files: one fixture shared by every step, so only two VMs boot.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  buildBusyboxArchive,
  type PrivateContainerd,
} from "../../host/shim/_containerd_harness.ts";
import { initDataAnnotation } from "@coco/lib/initdata";
import { type RealRegistry, run, startRegistry } from "../../guest/image/_testing/real_registry.ts";
import type { Started } from "../harness.ts";
import { skipUnless } from "../peers.ts";
import { criPull } from "./_cri.ts";
import { NO_EXEC_POLICY, REGISTRY_IN_GUEST } from "./_vm_fixture.ts";
import {
  assertNoBackendLeft,
  buildGuestImage,
  containerdVmPeers,
  ctrSpawn,
  pushArchive,
  shimConfigs,
  startSnapshotterContainerd,
  watchOutput,
} from "./_containerd_fixture.ts";

const peers = containerdVmPeers();
const ROOT = new URL("../../", import.meta.url).pathname;
const HOST_MAIN = join(ROOT, "host/main.ts");
const LOCAL_IMAGE = "docker.io/library/tinybusybox:latest";
const GUEST_IMAGE = `${REGISTRY_IN_GUEST}/e2e/busybox:1`;
/** Exec is allowed only with exec id "allowed" (policy input `exec_id`). */
const EXEC_POLICY = `${NO_EXEC_POLICY}\nExecProcessRequest if input.exec_id == "allowed"\n`;

function cdhInitData(): string {
  const cdh = `[kbc]\nname = "offline_fs_kbc"\n[image]\nwork_dir = "/run/kata-containers/image"\n` +
    `[[image.registry_config.registry]]\nlocation = "${REGISTRY_IN_GUEST}"\ninsecure = true\n`;
  return `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = ${
    JSON.stringify("[token_configs]\n")
  }\n"cdh.toml" = ${JSON.stringify(cdh)}\n`;
}

Deno.test({
  name:
    "containerd 1.6 + coco shim + coco snapshotter: guest pull in a pod VM, exec policy, faults",
  ...skipUnless(peers, "containerd e2e"),
  fn: async (t) => {
    await buildGuestImage();
    const dir = await Deno.makeTempDir({ prefix: "ctrd-e2e-" });
    let registry: RealRegistry | undefined;
    let snap: Started | undefined;
    let cd: PrivateContainerd | undefined;
    try {
      const tar = await buildBusyboxArchive(dir, peers.paths.busybox!);
      registry = await startRegistry(peers.paths["docker-registry"]!, join(dir, "registry"));
      const hostImage = `${registry.host}/e2e/busybox:1`;
      await pushArchive(peers.paths.skopeo!, tar, hostImage);
      const inspect = JSON.parse(
        await run(peers.paths.skopeo!, ["inspect", "--tls-verify=false", `docker://${hostImage}`]),
      ) as { Layers: string[] };
      assert.ok(inspect.Layers.length > 0);
      const withSnap = await startSnapshotterContainerd(dir, registry.host);
      ({ cd, snap } = withSnap);
      const PATH = withSnap.path;
      const c = cd;
      const { qemu, none } = await shimConfigs(
        dir,
        HOST_MAIN,
        Number(registry.host.split(":")[1]),
      );
      const k8s = (args: string[]) => c.ctr(["-n", "k8s.io", ...args]);
      const contentHas = (digest: string) =>
        Deno.stat(join(dir, "root/io.containerd.content.v1.content/blobs/sha256", digest.slice(7)))
          .then(() => true, () => false);
      const vmArgs = async (id: string, policy: string, cmd: string) => [
        "-n",
        "k8s.io",
        "run",
        "--runtime",
        qemu,
        "--snapshotter",
        "coco",
        "--rm",
        "--annotation",
        `io.kubernetes.cri.image-name=${GUEST_IMAGE}`,
        "--annotation",
        `io.katacontainers.config.hypervisor.cc_init_data=${await initDataAnnotation(
          cdhInitData(),
        )}`,
        "--annotation",
        `io.katacontainers.config.agent.policy=${new TextEncoder().encode(policy).toBase64()}`,
        hostImage,
        id,
        "sh",
        "-c",
        cmd,
      ];

      await t.step(
        "a CRI PullImage through the coco snapshotter stores no layer on the host",
        async () => {
          await criPull(c.socket, hostImage);
          for (const d of inspect.Layers) {
            assert.equal(await contentHas(d), false, `layer ${d} was fetched`);
          }
          const ls = await k8s(["images", "ls", "-q"]);
          assert.match(ls.stdout, new RegExp(hostImage.replace(/[.]/g, "\\.")));
        },
      );

      const events = ctrSpawn(c.socket, PATH, ["events"]);
      const ev = watchOutput(events.stdout);
      const started = (id: string, child: Deno.ChildProcess) =>
        ev.waitFor(new RegExp(`/tasks/start .*"container_id":"${id}"`), child.status);
      try {
        await t.step(
          "ctr run: VM boot, guest pull, exec allowed / denied, output, kill cleans up",
          async () => {
            const vm = ctrSpawn(
              c.socket,
              PATH,
              await vmArgs("vm1", EXEC_POLICY, "echo ready; exec sleep 1000"),
            );
            const out = watchOutput(vm.stdout);
            const err = new Response(vm.stderr).text();
            try {
              await started("vm1", vm);
              // The init's output streams to ctr while it runs (not only at exit).
              await out.waitFor(/^ready\n$/, vm.status);
              const ok = await k8s([
                "task",
                "exec",
                "--exec-id",
                "allowed",
                "vm1",
                "sh",
                "-c",
                "echo exec-ok; exit 5",
              ]);
              assert.equal(ok.stdout, "exec-ok\n", ok.stderr);
              assert.equal(ok.code, 5);
              const denied = await k8s([
                "task",
                "exec",
                "--exec-id",
                "denied",
                "vm1",
                "echo",
                "no",
              ]);
              assert.notEqual(denied.code, 0);
              assert.equal(denied.stdout, "");
              assert.match(denied.stderr, /ExecProcessRequest is blocked by policy/);
            } finally {
              await k8s(["task", "kill", "-s", "SIGKILL", "vm1"]);
            }
            assert.equal((await vm.status).code, 137, await err);
            await out.done;
            assert.equal(out.text(), "ready\n");
            assert.equal((await k8s(["task", "ls", "-q"])).stdout.trim(), "");
            assert.equal((await k8s(["containers", "ls", "-q"])).stdout.trim(), "");
            await assertNoBackendLeft(dir);
            for (const d of inspect.Layers) {
              assert.equal(await contentHas(d), false, `layer ${d} was fetched`);
            }
          },
        );

        await t.step(
          "fault: QEMU killed mid-run → TaskExit 137 reaches containerd, cleanup",
          async () => {
            const vm = ctrSpawn(
              c.socket,
              PATH,
              await vmArgs("vm2", EXEC_POLICY, "exec sleep 1000"),
            );
            const out = new Response(vm.stdout).text();
            const err = new Response(vm.stderr).text();
            try {
              await started("vm2", vm);
              const pid = Number(await Deno.readTextFile(join(dir, "run/vm2/backend.pid")));
              Deno.kill(pid, "SIGKILL");
            } finally {
              assert.equal((await vm.status).code, 137, await err);
              await out;
            }
            await ev.waitFor(/\/tasks\/delete .*"container_id":"vm2"/, events.status);
            assert.match(ev.text(), /\/tasks\/exit .*"container_id":"vm2".*"exit_status":137/);
            await assertNoBackendLeft(dir);
          },
        );

        await t.step(
          "fault: a frozen agent fails calls with a deadline error, not a hang",
          async () => {
            const imp = await c.ctr([
              "images",
              "import",
              "--base-name",
              "docker.io/library/tinybusybox",
              tar,
            ]);
            assert.equal(imp.code, 0, imp.stderr);
            const task = ctrSpawn(c.socket, PATH, [
              "run",
              "--runtime",
              none,
              "--rm",
              LOCAL_IMAGE,
              "h1",
              "sh",
              "-c",
              "echo ready; exec sleep 1000",
            ]);
            const out = watchOutput(task.stdout);
            const err = new Response(task.stderr).text();
            let pid = 0;
            try {
              // Output streams live with the local agent: "ready" means the shell ran.
              await out.waitFor(/ready\n/, task.status);
              pid = Number(await Deno.readTextFile(join(dir, "run/h1/backend.pid")));
              Deno.kill(pid, "SIGSTOP");
              const ex = await c.ctr(["task", "exec", "--exec-id", "x", "h1", "echo", "hi"]);
              assert.notEqual(ex.code, 0);
              assert.match(ex.stderr, /ExecProcess: deadline of 3000 ms exceeded/);
            } finally {
              if (pid) Deno.kill(pid, "SIGKILL");
              assert.equal((await task.status).code, 137, await err);
            }
            await out.done;
            assert.equal(out.text(), "ready\n");
            await assertNoBackendLeft(dir);
          },
        );
      } finally {
        events.kill("SIGTERM");
        await events.status;
        await ev.done;
        await events.stderr.cancel();
      }
    } finally {
      await cd?.stop();
      await snap?.stop();
      await registry?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
