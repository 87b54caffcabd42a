/**
 * The shim end to end with a private containerd 1.6 (own root, state and sockets in a temp dir,
 * stopped by PID) and `ctr`, the shim given by absolute path as a launcher script that runs
 * this checkout. Pod backend: `hypervisor.type = "none"` (the agent as a local process with real
 * runc; NOT confidential) — output, exit codes, exec, metrics, kill, and cleanup (no process,
 * mount or run directory left behind); and one run in a real QEMU pod VM (TCG here) whose image
 * is pulled inside the guest from a loopback registry, with init-data and SetPolicy.
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
import { findPeers, isRoot, requireAlso, skipUnless } from "../peers.ts";
import { OPEN_POLICY, REGISTRY_IN_GUEST } from "./_vm_fixture.ts";
import {
  buildGuestImage,
  containerdVmPeers,
  pushArchive,
  qemuShimToml,
} from "./_containerd_fixture.ts";

const peers = requireAlso(
  findPeers("containerd", "ctr", "runc", "umoci", "skopeo", "busybox"),
  isRoot(),
  "needs root for containerd and runc",
);
const HOST_MAIN = new URL("../../host/main.ts", import.meta.url).pathname;
const GUEST_MAIN = new URL("../../guest/main.ts", import.meta.url).pathname;
const IMAGE = "docker.io/library/tinybusybox:latest";

async function readUntil(stream: ReadableStream<Uint8Array>, want: string): Promise<string> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes(want)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  reader.releaseLock();
  return text;
}

Deno.test({
  name: "ctr run with the shim (hypervisor none): output, exit codes, exec, kill and cleanup",
  ...skipUnless(peers, "shim e2e with containerd"),
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "shim-e2e-" });
    let cd: PrivateContainerd | undefined;
    try {
      const tar = await buildBusyboxArchive(dir, peers.paths.busybox!);
      cd = await startContainerd(dir);
      const imp = await cd.ctr([
        "images",
        "import",
        "--base-name",
        "docker.io/library/tinybusybox",
        tar,
      ]);
      assert.equal(imp.code, 0, imp.stderr);
      const runDir = join(dir, "run");
      const cfg = join(dir, "shim.toml");
      await Deno.writeTextFile(
        cfg,
        `[shim]\nruntime_dir = "${runDir}"\nsocket_dir = "${dir}/s"\nlocal_agent_command = ${
          JSON.stringify([Deno.execPath(), "run", "-A", GUEST_MAIN, "agent"])
        }\n[hypervisor]\ntype = "none"\n`,
      );
      const launcher = await writeLauncher(dir, cfg, HOST_MAIN);
      const c = cd;

      await t.step("ctr run --rm prints the container's output and exits 0", async () => {
        const r = await c.ctr(["run", "--runtime", launcher, "--rm", IMAGE, "e1", "echo", "hello"]);
        assert.equal(r.stderr, "");
        assert.equal(r.stdout, "hello\n");
        assert.equal(r.code, 0);
      });

      await t.step("the container's exit code reaches ctr", async () => {
        const r = await c.ctr([
          "run",
          "--runtime",
          launcher,
          "--rm",
          IMAGE,
          "e2",
          "sh",
          "-c",
          "echo out; echo err >&2; exit 3",
        ]);
        assert.equal(r.stdout, "out\n");
        assert.equal(r.stderr, "err\n");
        assert.equal(r.code, 3);
      });

      await t.step("exec in a running task, then kill ends it with 128+9", async () => {
        const run = new Deno.Command("ctr", {
          args: [
            "-a",
            c.socket,
            "run",
            "--runtime",
            launcher,
            "--rm",
            IMAGE,
            "k1",
            "sh",
            "-c",
            "echo ready; exec sleep 1000",
          ],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        try {
          assert.match(await readUntil(run.stdout, "ready\n"), /ready/);
          const ex = await c.ctr([
            "task",
            "exec",
            "--exec-id",
            "x1",
            "k1",
            "sh",
            "-c",
            "echo exec-out; exit 4",
          ]);
          assert.equal(ex.stdout, "exec-out\n");
          assert.equal(ex.code, 4);
          const metrics = await c.ctr(["task", "metrics", "k1"]);
          assert.equal(metrics.code, 0, metrics.stderr);
          assert.match(metrics.stdout, /memory\.usage_in_bytes\s+\d+/);
          const kill = await c.ctr(["task", "kill", "-s", "SIGKILL", "k1"]);
          assert.equal(kill.code, 0, kill.stderr);
        } finally {
          const st = await run.status;
          await run.stdout.cancel().catch(() => {});
          await run.stderr.cancel().catch(() => {});
          assert.equal(st.code, 137);
        }
        const ls = await c.ctr(["task", "ls", "-q"]);
        assert.equal(ls.stdout.trim(), "");
      });

      await t.step("nothing is left: no run directory content, mount or shim socket", async () => {
        const left = [...Deno.readDirSync(runDir)].map((e) => e.name);
        assert.deepEqual(left, []);
        const mounts = await Deno.readTextFile("/proc/self/mountinfo");
        assert.equal(mounts.includes(dir), false);
        const sockets = [...Deno.readDirSync(join(dir, "s"))].map((e) => e.name);
        assert.deepEqual(sockets, []);
      });
    } finally {
      await cd?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

const vmPeers = containerdVmPeers();

Deno.test({
  name: "ctr run with the shim in a QEMU pod VM: guest pull, init-data, SetPolicy, output, cleanup",
  ...skipUnless(vmPeers, "shim e2e with a QEMU VM"),
  fn: async () => {
    await buildGuestImage();
    const dir = await Deno.makeTempDir({ prefix: "shim-vm-e2e-" });
    let cd: PrivateContainerd | undefined;
    let registry: RealRegistry | undefined;
    try {
      const tar = await buildBusyboxArchive(dir, vmPeers.paths.busybox!);
      registry = await startRegistry(vmPeers.paths["docker-registry"]!, join(dir, "registry"));
      await pushArchive(vmPeers.paths.skopeo!, tar, `${registry.host}/e2e/busybox:1`);
      cd = await startContainerd(dir);
      const imp = await cd.ctr([
        "images",
        "import",
        "--base-name",
        "docker.io/library/tinybusybox",
        tar,
      ]);
      assert.equal(imp.code, 0, imp.stderr);
      const port = Number(registry.host.split(":")[1]);
      const cfg = join(dir, "shim.toml");
      await Deno.writeTextFile(
        cfg,
        qemuShimToml({
          runtimeDir: `${dir}/run`,
          socketDir: `${dir}/s`,
          forceGuestPull: true,
          forwards: [{ guest: REGISTRY_IN_GUEST, hostPort: port }],
        }),
      );
      const launcher = await writeLauncher(dir, cfg, HOST_MAIN);
      const cdhToml =
        `[kbc]\nname = "offline_fs_kbc"\n[image]\nwork_dir = "/run/kata-containers/image"\n` +
        `[[image.registry_config.registry]]\nlocation = "${REGISTRY_IN_GUEST}"\ninsecure = true\n`;
      const initData = `version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = ${
        JSON.stringify("[token_configs]\n")
      }\n"cdh.toml" = ${JSON.stringify(cdhToml)}\n`;
      // No policy in init-data: the agent's default one hides stdio of guest-pulled containers,
      // so the output below only arrives if SetPolicy (from the annotation) took effect.
      const r = await cd.ctr([
        "run",
        "--runtime",
        launcher,
        "--rm",
        "--annotation",
        `io.kubernetes.cri.image-name=${REGISTRY_IN_GUEST}/e2e/busybox:1`,
        "--annotation",
        `io.katacontainers.config.hypervisor.cc_init_data=${await initDataAnnotation(initData)}`,
        "--annotation",
        `io.katacontainers.config.agent.policy=${new TextEncoder().encode(OPEN_POLICY).toBase64()}`,
        IMAGE,
        "vm1",
        "sh",
        "-c",
        "echo hello-from-vm; exit 7",
      ]);
      assert.equal(r.stdout, "hello-from-vm\n", `${r.stderr}\n${cd.log().slice(-3000)}`);
      assert.equal(r.code, 7);
      assert.deepEqual([...Deno.readDirSync(join(dir, "run"))], []);
      const qemuLeft = [...Deno.readDirSync("/proc")].filter((e) => /^\d+$/.test(e.name)).some(
        (e) => {
          try {
            return Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(`${dir}/run`);
          } catch {
            return false;
          }
        },
      );
      assert.equal(qemuLeft, false, "QEMU was stopped and reaped");
    } finally {
      await cd?.stop();
      await registry?.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
