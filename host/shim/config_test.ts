import assert from "node:assert/strict";
import { ConfigError } from "@coco/lib/config";
import { VmConfigError } from "../vm/mod.ts";
import { DEFAULT_SHIM_CONFIG, loadShimConfig, parseShimConfig } from "./config.ts";

Deno.test("loadShimConfig() parses host/config.example.toml", async () => {
  const c = await loadShimConfig(new URL("../config.example.toml", import.meta.url).pathname);
  assert.equal(c.hypervisorType, "qemu");
  assert.equal(c.forceGuestPull, true);
  assert.equal(c.createContainerTimeoutMs, 60_000);
  assert.equal(c.hypervisor.memoryMiB, 1024);
  assert.deepEqual(c.hypervisor.channel, { type: "serial", name: "agent.channel.0" });
});

Deno.test("parseShimConfig() applies defaults and the none hypervisor type", () => {
  const c = parseShimConfig({ hypervisor: { type: "none" } });
  assert.equal(c.hypervisorType, "none");
  assert.equal(c.runtimeDir, DEFAULT_SHIM_CONFIG.runtimeDir);
  assert.equal(c.forceGuestPull, false);
  const f = parseShimConfig({
    shim: { guest_forwards: [{ guest: "10.0.2.100:5000", host_port: 5001 }] },
  });
  assert.deepEqual(f.guestForwards, [{ guestAddr: "10.0.2.100", guestPort: 5000, hostPort: 5001 }]);
});

Deno.test("parseShimConfig() names the bad key", () => {
  const cases: [unknown, RegExp][] = [
    [{ shim: { bogus: 1 } }, /unknown field `bogus`/],
    [{ shim: { runtime_dir: "relative" } }, /shim.runtime_dir must be an absolute path/],
    [{ shim: { force_guest_pull: "yes" } }, /force_guest_pull must be true or false/],
    [{ shim: { log_level: "loud" } }, /log_level must be/],
    [{ shim: { agent_timeout: -1 } }, /agent_timeout must be a number of seconds/],
    [{ shim: { local_agent_command: [] } }, /must not be empty/],
    [{ hypervisor: { type: "firecracker" } }, /hypervisor.type must be "qemu" or "none"/],
    [{ extra: {} }, /unknown field `extra`/],
    [
      { shim: { guest_forwards: [{ guest: "10.0.2.100", host_port: 5000 }] } },
      /guest_forwards\[0\]/,
    ],
    [{ shim: { guest_forwards: [{ guest: "10.0.2.100:5000", host_port: 0 }] } }, /guest_forwards/],
  ];
  for (const [raw, re] of cases) assert.throws(() => parseShimConfig(raw), re);
  assert.throws(
    () => parseShimConfig({ hypervisor: { memory_mib: 1 } }),
    (e: unknown) => e instanceof VmConfigError && /memory_mib/.test(e.message),
  );
});

Deno.test("loadShimConfig() reports the file on a bad value", async () => {
  const f = await Deno.makeTempFile({ suffix: ".toml" });
  try {
    await Deno.writeTextFile(f, "[shim]\nsocket_dir = 3\n");
    await assert.rejects(
      loadShimConfig(f),
      (e: unknown) =>
        e instanceof ConfigError && e.message.includes(f) && /socket_dir/.test(e.message),
    );
  } finally {
    await Deno.remove(f);
  }
});
