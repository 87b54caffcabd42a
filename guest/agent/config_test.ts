import assert from "node:assert/strict";
import { join } from "node:path";
import { parseKernelParams, resolveAgentConfig } from "./config.ts";
import { parseChannel, resolveSerialPort } from "./transport.ts";
import { initMountPlan, orphanOwned, shouldRunAsInit, wantsCgroupV2 } from "./pid1.ts";

Deno.test("parseKernelParams() keeps agent.* params and flags", () => {
  const p = parseKernelParams("console=hvc0 agent.log=debug agent.debug_console quiet");
  assert.deepEqual([...p], [["log", "debug"], ["debug_console", "true"]]);
});

Deno.test("resolveAgentConfig() uses kernel params, then env overrides", async () => {
  const c = await resolveAgentConfig({
    cmdline: "agent.server_addr=serial://agent.channel.0 agent.log=debug",
    env: (n) => (n === "KATA_AGENT_POLICY_FILE" ? "/etc/p.rego" : undefined),
  });
  assert.equal(c.serverAddr, "serial://agent.channel.0");
  assert.equal(c.logLevel, "debug");
  assert.equal(c.policyFile, "/etc/p.rego");
  assert.equal((await resolveAgentConfig({})).serverAddr, "vsock://-1:1024");
});

Deno.test("resolveAgentConfig() reads a TOML file and names unknown keys", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = join(dir, "agent.toml");
    await Deno.writeTextFile(f, 'server_addr = "unix:///tmp/a.sock"\nruntime = "crun"\n');
    const c = await resolveAgentConfig({ file: f, cmdline: "agent.log=debug" });
    assert.equal(c.serverAddr, "unix:///tmp/a.sock");
    assert.equal(c.runtime, "crun");
    assert.equal(c.logLevel, "info"); // a config file wins over kernel params entirely
    await Deno.writeTextFile(f, 'sever_addr = "x"\n');
    await assert.rejects(resolveAgentConfig({ file: f }), /unknown key "sever_addr"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseChannel() accepts unix, vsock and serial, rejects the rest", () => {
  assert.deepEqual(parseChannel("vsock://-1:1024"), {
    kind: "socket",
    address: "vsock://-1:1024",
  });
  assert.deepEqual(parseChannel("serial://agent.channel.0"), {
    kind: "serial",
    port: "agent.channel.0",
  });
  assert.throws(() => parseChannel("tcp://1.2.3.4:1"), { code: "invalid-argument" });
  assert.throws(() => parseChannel("serial://a b"), { code: "invalid-argument" });
});

Deno.test("resolveSerialPort() finds the port by its sysfs name", async () => {
  const sys = await Deno.makeTempDir();
  try {
    for (const [port, name] of [["vport0p0", "other"], ["vport0p1", "agent.channel.0"]] as const) {
      await Deno.mkdir(join(sys, port));
      await Deno.writeTextFile(join(sys, port, "name"), `${name}\n`);
    }
    assert.equal(await resolveSerialPort("agent.channel.0", sys, "/dev"), "/dev/vport0p1");
    await assert.rejects(resolveSerialPort("missing", sys), { code: "unavailable" });
  } finally {
    await Deno.remove(sys, { recursive: true });
  }
});

Deno.test("shouldRunAsInit() runs PID-1 duties only as pid 1 unless told", () => {
  assert.equal(shouldRunAsInit({ pid: 1, mode: "auto" }), true);
  assert.equal(shouldRunAsInit({ pid: 42, mode: "auto" }), false);
  assert.equal(shouldRunAsInit({ pid: 42, mode: "always" }), true);
  assert.equal(shouldRunAsInit({ pid: 1, mode: "never" }), false);
});

Deno.test("initMountPlan() mounts v1 controllers unless the cmdline asks for v2", () => {
  const v1 = initMountPlan("console=hvc0");
  assert.deepEqual(v1.slice(0, 6).map((m) => m.target), [
    "/proc",
    "/sys",
    "/dev",
    "/dev/shm",
    "/dev/pts",
    "/run",
  ]);
  assert.ok(v1.some((m) => m.target === "/sys/fs/cgroup/memory" && m.fstype === "cgroup"));
  assert.equal(wantsCgroupV2("cgroup_no_v1=all"), true);
  const v2 = initMountPlan("systemd.unified_cgroup_hierarchy=1");
  assert.equal(v2.at(-1)?.fstype, "cgroup2");
  assert.equal(v2.filter((m) => m.fstype === "cgroup").length, 0);
});

Deno.test("orphanOwned() leaves a new zombie one sweep, then lets it be reaped", () => {
  const next = new Set<number>();
  assert.equal(orphanOwned(4242, new Set(), next), true);
  assert.deepEqual([...next], [4242]);
  assert.equal(orphanOwned(4242, next, new Set()), false);
});
