/**
 * The agent inside a real QEMU VM (TCG here, KVM where it works) booted from the guest image
 * (`scripts/build_guest_image.ts`), driven over virtio-serial by the host-side AgentClient. One
 * VM is shared by every step: health check, init-data (policy and cdh.toml from the init-data
 * disk), the pod network, an image pulled inside the guest from a docker-registry on the host's
 * loopback (reached only through QEMU `restrict=on` + `guestfwd`), a container and its output,
 * exec, a policy that denies exec, kill, LUKS2 ephemeral storage on dm-crypt, and DestroySandbox
 * powering the VM off so QEMU exits. The VM setup is in `_vm_fixture.ts` (shared with bench/vm.ts).
 *
 * Run alone with `deno task e2e:vm`.
 */
import assert from "node:assert/strict";
import { TtrpcError } from "@coco/lib/ttrpc";
import { skipUnless } from "../peers.ts";
import {
  NO_EXEC_POLICY,
  pulled,
  readUntil,
  spec,
  startVmFixture,
  type VmFixture,
  vmPeers,
} from "./_vm_fixture.ts";

const peers = vmPeers();
const dec = new TextDecoder();
const enc = new TextEncoder();

Deno.test({
  name: "agent in a QEMU VM: pull from the host registry, run, exec, policy, dm-crypt, power off",
  ...skipUnless(peers, "vm e2e"),
  fn: async (t) => {
    let fx: VmFixture | undefined;
    try {
      fx = await startVmFixture(peers);
      const { client: c, vm: theVm } = fx;
      const IMAGE = fx.images[0]!;
      const consoleLog = fx.console;

      await t.step("Health Check answers SERVING once the guest has booted", async () => {
        assert.equal((await c.health.check({})).status, 1);
      });

      await t.step("the agent runs as init with the init-data policy", async () => {
        const details = await c.agent.getGuestDetails({ memBlockSize: true });
        assert.equal(details.agentDetails?.initDaemon, true);
        assert.ok(details.agentDetails?.storageHandlers.includes("blk"));
        assert.match(await consoleLog(), /init-data applied/);
        const { metrics } = await c.agent.getMetrics({});
        assert.match(metrics, /^kata_agent_process_resident_memory_bytes [1-9]\d+$/m);
        assert.match(metrics, /^kata_guest_meminfo\{item="MemTotal"\} [1-9]\d+$/m);
      });

      await t.step("CreateSandbox with a LUKS2 ephemeral storage", async () => {
        await c.agent.createSandbox({
          sandboxId: "vm-e2e",
          hostname: "pod",
          storages: [{
            driver: "blk",
            source: "loop:16",
            driverOptions: ["encryption_key=ephemeral"],
            mountPoint: "/run/kata-containers/sandbox/storage/secure",
          }],
        });
      });

      await t.step("UpdateInterface and UpdateRoutes configure eth0", async () => {
        const before = await c.agent.listInterfaces({});
        const eth0 = before.Interfaces.find((i) => i.name === "eth0");
        assert.ok(eth0, "the guest has eth0");
        const updated = await c.agent.updateInterface({
          interface: {
            name: "eth0",
            hwAddr: eth0.hwAddr,
            IPAddresses: [{ address: "10.0.2.15", mask: "24" }],
          },
        });
        assert.deepEqual(
          updated.IPAddresses.filter((a) => a.family === 0).map((a) => `${a.address}/${a.mask}`),
          ["10.0.2.15/24"],
        );
        const routes = await c.agent.updateRoutes({
          routes: { Routes: [{ dest: "10.0.2.0/24", device: "eth0", scope: 253 }] },
        });
        assert.ok(routes.Routes.some((r) => r.dest === "10.0.2.0/24" && r.device === "eth0"));
        const listed = await c.agent.listRoutes({});
        assert.ok(listed.Routes.some((r) => r.dest === "10.0.2.0/24"));
      });

      await t.step("an image pulled in the guest runs and its output is read", async () => {
        await c.agent.createContainer({
          containerId: "c1",
          execId: "c1",
          storages: pulled("c1", IMAGE),
          OCI: spec("c1", ["sh", "-c", "echo hello-from-vm; exec sleep 1000"]),
        });
        await c.agent.startContainer({ containerId: "c1" });
        assert.match(await readUntil(c, "c1", "c1", "hello-from-vm\n"), /hello-from-vm\n/);
      });

      await t.step("exec runs in the container with its exit code", async () => {
        await c.agent.execProcess({
          containerId: "c1",
          execId: "e1",
          process: { Args: ["sh", "-c", "echo exec-out; exit 3"], Env: ["PATH=/bin"], Cwd: "/" },
        });
        assert.equal(dec.decode(await c.readAll("c1", "e1")), "exec-out\n");
        assert.equal((await c.agent.waitProcess({ containerId: "c1", execId: "e1" })).status, 3);
      });

      await t.step("a policy denying exec makes exec fail while the rest works", async () => {
        await c.agent.setPolicy({ policy: NO_EXEC_POLICY });
        const exec = c.agent.execProcess({
          containerId: "c1",
          execId: "e2",
          process: { Args: ["true"], Env: ["PATH=/bin"], Cwd: "/" },
        });
        await assert.rejects(exec, (err: unknown) => {
          assert.ok(err instanceof TtrpcError);
          assert.equal(err.code, "PERMISSION_DENIED");
          assert.match(err.message, /ExecProcessRequest/);
          return true;
        });
        const w = await c.agent.writeStdin({
          containerId: "c1",
          execId: "c1",
          data: enc.encode("x"),
        });
        assert.equal(w.len, 1);
        const stats = await c.agent.statsContainer({ containerId: "c1" });
        assert.ok((stats.cgroupStats?.pidsStats?.current ?? 0n) >= 1n);
      });

      await t.step("kill gives 128 + SIGKILL and the container is removed", async () => {
        await c.agent.signalProcess({ containerId: "c1", execId: "", signal: 9 });
        assert.equal((await c.agent.waitProcess({ containerId: "c1", execId: "c1" })).status, 137);
        await c.agent.removeContainer({ containerId: "c1" });
      });

      await t.step(
        "dm-crypt: the storage is a LUKS2 mapping; its backing file holds no plaintext",
        async () => {
          const script = [
            "echo secret-marker-0123456789 > /secure/f",
            "sync",
            "cat /secure/f",
            "grep ' /secure ' /proc/mounts",
            "echo plaintext-in-backing-file: $(grep -c -F secret-marker-0123456789 /loop/*.img)",
          ].join("; ");
          await c.agent.createContainer({
            containerId: "c2",
            execId: "c2",
            storages: pulled("c2", IMAGE),
            OCI: spec("c2", ["sh", "-c", script], [
              {
                destination: "/secure",
                source: "/run/kata-containers/sandbox/storage/secure",
                type: "bind",
                options: ["rbind", "rw"],
              },
              {
                destination: "/loop",
                source: "/run/kata-containers/sandbox/loop",
                type: "bind",
                options: ["rbind", "ro"],
              },
            ]),
          });
          await c.agent.startContainer({ containerId: "c2" });
          const out = dec.decode(await c.readAll("c2", "c2"));
          assert.equal((await c.agent.waitProcess({ containerId: "c2", execId: "c2" })).status, 0);
          assert.match(out, /^secret-marker-0123456789$/m);
          assert.match(out, /^\/dev\/mapper\/coco-eph-\S+ \/secure /m);
          assert.match(out, /^plaintext-in-backing-file: 0$/m);
        },
      );

      await t.step("DestroySandbox powers the VM off and QEMU exits", async () => {
        await c.agent.destroySandbox({});
        const status = await theVm.exited;
        assert.equal(status.success, true, `QEMU exit ${status.code}\n${await consoleLog()}`);
        assert.match(await consoleLog(), /reboot: Power down/);
      });
    } finally {
      await fx?.close();
    }
  },
});
