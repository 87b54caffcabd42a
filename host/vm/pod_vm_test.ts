import assert from "node:assert/strict";
import { findPeers, skipUnless } from "../../tests/peers.ts";
import { DEFAULT_HYPERVISOR, type HypervisorConfig } from "./config.ts";
import { PodVm, PodVmError, resolveAccel } from "./pod_vm.ts";

const peers = findPeers("qemu-system-x86_64");
function bootFile(prefix: string): string | undefined {
  try {
    return [...Deno.readDirSync("/boot")].map((e) => e.name).filter((n) => n.startsWith(prefix))
      .map((n) => `/boot/${n}`)[0];
  } catch {
    return undefined;
  }
}
const kernel = bootFile("vmlinuz-");
// A real initrd: with an empty one QEMU exits right after creating its sockets.
const initrd = bootFile("initrd.img-");
const ok = peers.ok && kernel !== undefined && initrd !== undefined;
const vmPeers = ok
  ? peers
  : { ...peers, ok: false, reason: peers.reason || "no kernel and initrd in /boot" };

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "pod VM: QEMU starts with the agent socket, and stop() kills and reaps it",
  ...skipUnless(vmPeers, "pod VM lifecycle"),
  fn: async () => {
    const runDir = await Deno.makeTempDir({ prefix: "coco-vm-" });
    try {
      const hv: HypervisorConfig = {
        ...DEFAULT_HYPERVISOR,
        qemuPath: peers.paths["qemu-system-x86_64"]!,
        kernel: kernel!,
        initrd: initrd!,
        memoryMiB: 256,
        vcpus: 1,
      };
      const vm = await PodVm.start(hv, { id: "lifecycle", runDir });
      assert.equal(vm.accel, await resolveAccel(hv));
      assert.ok((await Deno.stat(vm.paths.agentSocket)).isSocket);
      assert.ok(alive(vm.pid));
      const st = await vm.stop();
      assert.equal(st.success, false, "QEMU was killed, not finished");
      assert.ok(!alive(vm.pid), "QEMU is reaped");
    } finally {
      await Deno.remove(runDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "pod VM: a QEMU that cannot start is reported with its own message",
  ...skipUnless(vmPeers, "pod VM start failure"),
  fn: async () => {
    const runDir = await Deno.makeTempDir({ prefix: "coco-vm-" });
    try {
      const hv: HypervisorConfig = {
        ...DEFAULT_HYPERVISOR,
        qemuPath: peers.paths["qemu-system-x86_64"]!,
        kernel: `${runDir}/no-such-kernel`,
        accel: "tcg",
      };
      await assert.rejects(
        PodVm.start(hv, { id: "broken", runDir }),
        (e: unknown) =>
          e instanceof PodVmError && e.code === "vm-start" && /no-such-kernel/.test(e.message),
      );
    } finally {
      await Deno.remove(runDir, { recursive: true });
    }
  },
});
