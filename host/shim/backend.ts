/**
 * Where a pod's agent runs: a QEMU pod VM (host/vm `PodVm`, the agent on its virtio-serial or
 * vsock channel), or — `hypervisor.type = "none"`, development and tests only, NOT confidential —
 * `coco-guest agent` as a local process on a unix socket. Both give an agent client, the pid
 * containerd sees (QEMU's, or the local agent's), and a promise that settles when it dies.
 */
import { join } from "node:path";
import { encodeInitDataDisk, initDataDigest, parseInitDataToml } from "@coco/lib/initdata";
import type { Logger } from "@coco/lib/log";
// client.ts, not mod.ts: mod.ts also exports the agent-ctl command (commander) the shim never needs.
import { AgentClient } from "../agent_client/client.ts";
import { PodVm } from "../vm/mod.ts";
import type { ShimConfig } from "./config.ts";
import { shimError } from "./errors.ts";
import { forEachLine } from "@coco/lib/lines";
import { logPhase } from "./phases.ts";
import { PID_FILE } from "./run_dir.ts";

/** A running pod backend. */
export interface PodBackend {
  readonly kind: "qemu" | "none";
  /** The pid containerd is told about (QEMU, or the local agent process). */
  readonly pid: number;
  readonly agent: AgentClient;
  /** Agent-side container base directory (`/run/kata-containers` in a VM). */
  readonly containerBase: string;
  /** Settles when the VM / local agent has exited. */
  readonly exited: Promise<void>;
  /** `performance.now()` when the agent first answered (start of the `agent-ready` phase). */
  readonly connectedAt?: number;
  /** Stops it (SIGTERM, then SIGKILL) and waits until it is reaped. */
  stop(): Promise<void>;
}

/** What a pod needs at boot. */
export interface BackendRequest {
  sandboxId: string;
  /** `<runtime dir>/<sandbox id>`, created by the caller. */
  runDir: string;
  /** Init-data TOML from the pod annotation, if any. */
  initData?: string;
}

export { PID_FILE } from "./run_dir.ts";

/**
 * Connects and waits until Health/Check answers, reconnecting when the channel closes, with a
 * short pause between tries (which also lets the event loop notice that the backend died).
 */
async function connectAgent(
  address: string,
  deadlineMs: number,
  alive: () => boolean,
): Promise<AgentClient> {
  const until = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    let agent: AgentClient | undefined;
    try {
      agent = await AgentClient.connect(address);
      await agent.health.check({}, { timeoutMs: 2000 });
      return agent;
    } catch (err) {
      last = err;
      await agent?.close().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 200));
    if (!alive()) {
      throw shimError("start-failed", "The pod backend exited before its agent answered", last);
    }
    if (Date.now() > until) {
      throw shimError("start-failed", "The agent did not answer Health/Check in time", last);
    }
  }
}

/** QEMU user networking (only present with guest forwards): the guest's address and subnet. */
const GUEST_IP = "10.0.2.15";

/** UpdateInterface + UpdateRoutes for eth0 on QEMU's user network (as Kata does for its tap). */
async function configureGuestNetwork(agent: AgentClient): Promise<void> {
  const { Interfaces } = await agent.agent.listInterfaces({}, { timeoutMs: 10_000 });
  const eth0 = Interfaces.find((i) => i.name === "eth0");
  if (!eth0) throw shimError("start-failed", "The pod VM has no eth0 for its guest forwards");
  await agent.agent.updateInterface({
    interface: {
      name: "eth0",
      hwAddr: eth0.hwAddr,
      IPAddresses: [{ address: GUEST_IP, mask: "24" }],
    },
  }, { timeoutMs: 10_000 });
  await agent.agent.updateRoutes({
    routes: { Routes: [{ dest: "10.0.2.0/24", device: "eth0", scope: 253 }] },
  }, { timeoutMs: 10_000 });
}

async function startQemu(cfg: ShimConfig, req: BackendRequest, log: Logger): Promise<PodBackend> {
  let initDataDisk: string | undefined;
  let digest: Uint8Array | undefined;
  if (req.initData !== undefined) {
    const parsed = parseInitDataToml(req.initData);
    digest = initDataDigest(req.initData, parsed.algorithm);
    initDataDisk = join(req.runDir, "initdata.img");
    await Deno.writeFile(initDataDisk, await encodeInitDataDisk(req.initData), { mode: 0o600 });
  }
  const t0 = performance.now();
  const vm = await PodVm.start(cfg.hypervisor, {
    id: req.sandboxId,
    runDir: join(req.runDir, "vm"),
    ...(initDataDisk ? { initDataDisk } : {}),
    ...(digest ? { initDataDigest: digest } : {}),
    ...(cfg.guestForwards.length ? { forwards: cfg.guestForwards } : {}),
  }, { socketTimeoutMs: 30_000 });
  await Deno.writeTextFile(join(req.runDir, PID_FILE), String(vm.pid));
  log.info("pod VM started", { pid: vm.pid, accel: vm.accel });
  const ch = cfg.hypervisor.channel;
  const address = ch.type === "serial"
    ? `unix://${vm.paths.agentSocket}`
    : `vsock://${ch.cid}:${ch.port}`;
  let agent: AgentClient | undefined;
  let connectedAt = 0;
  try {
    agent = await connectAgent(address, 180_000, () => vm.status === undefined);
    connectedAt = performance.now();
    logPhase(log, "vm-boot", connectedAt - t0, { backend: "qemu", accel: vm.accel });
    if (cfg.guestForwards.length) await configureGuestNetwork(agent);
  } catch (err) {
    await agent?.close().catch(() => {});
    await vm.stop();
    throw shimError("start-failed", `Cannot reach the agent in pod VM ${req.sandboxId}`, err);
  }
  const a = agent;
  return {
    kind: "qemu",
    pid: vm.pid,
    agent: a,
    containerBase: "/run/kata-containers",
    exited: vm.exited.then(() => {}),
    connectedAt,
    async stop() {
      await a.close().catch(() => {});
      await vm.stop();
    },
  };
}

async function startLocal(cfg: ShimConfig, req: BackendRequest, log: Logger): Promise<PodBackend> {
  const base = join(req.runDir, "agent");
  const socket = join(req.runDir, "agent.sock");
  const conf = join(req.runDir, "agent.toml");
  await Deno.mkdir(base, { recursive: true, mode: 0o700 });
  await Deno.writeTextFile(
    conf,
    [
      `server_addr = ${JSON.stringify(`unix://${socket}`)}`,
      `container_base = ${JSON.stringify(base)}`,
      `runtime = ${JSON.stringify(cfg.localAgentRuntime)}`,
      `cdh_socket = ""`,
      `guest_components_procs = "none"`,
      `log_level = ${JSON.stringify(cfg.logLevel)}`,
      "",
    ].join("\n"),
  );
  const [bin, ...args] = cfg.localAgentCommand;
  const t0 = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(bin!, {
      args: [...args, "--config", conf, "--init-mode", "never"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
  } catch (err) {
    throw shimError("start-failed", `Cannot run the local agent ${bin}: ${err}`, err);
  }
  await Deno.writeTextFile(join(req.runDir, PID_FILE), String(child.pid));
  const status = child.status;
  let done = false;
  const exited = status.then(() => {
    done = true;
  });
  // The agent logs on stderr: pass it to our log; stdout carries the readiness line.
  void forEachLine(child.stderr, (l) => log.debug("agent", { line: l }));
  const ready = new Promise<void>((resolve, reject) => {
    void forEachLine(child.stdout, (l) => {
      if (l.startsWith("agent listening on ")) resolve();
    }).then(() => reject(new Error("the local agent exited before it was ready")));
  });
  const stop = async () => {
    if (!done) {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      const t = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }, 3000);
      await exited;
      clearTimeout(t);
    }
    // A local agent that died leaves its runc containers behind (no VM takes them down).
    await reapContainers(cfg.localAgentRuntime, join(base, ".runc"), log);
  };
  let agent: AgentClient;
  try {
    await ready;
    agent = await connectAgent(`unix://${socket}`, 10_000, () => !done);
  } catch (err) {
    await stop();
    throw shimError("start-failed", `The local agent for ${req.sandboxId} did not start`, err);
  }
  const connectedAt = performance.now();
  logPhase(log, "vm-boot", connectedAt - t0, { backend: "none" });
  log.warn("pod agent runs as a local process (hypervisor.type = none): NOT confidential", {
    pid: child.pid,
  });
  const a = agent;
  return {
    kind: "none",
    pid: child.pid,
    agent: a,
    containerBase: base,
    exited,
    connectedAt,
    async stop() {
      await a.close().catch(() => {});
      await stop();
    },
  };
}

/** `runc delete --force` of every container left in a local agent's runc root. */
async function reapContainers(runtime: string, root: string, log: Logger): Promise<void> {
  const list = await new Deno.Command(runtime, {
    args: ["--root", root, "list", "-q"],
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => undefined);
  if (!list?.success) {
    log.debug("runc list failed", { root, code: list?.code });
    return;
  }
  for (const id of new TextDecoder().decode(list.stdout).split("\n").filter(Boolean)) {
    log.warn("removing a container the local agent left behind", { container: id });
    await new Deno.Command(runtime, {
      args: ["--root", root, "delete", "--force", id],
      stdout: "null",
      stderr: "null",
    }).output().catch(() => {});
  }
}

/** Starts the configured backend for a sandbox. */
export function startBackend(
  cfg: ShimConfig,
  req: BackendRequest,
  log: Logger,
): Promise<PodBackend> {
  switch (cfg.hypervisorType) {
    case "qemu":
      return startQemu(cfg, req, log);
    case "none":
      return startLocal(cfg, req, log);
  }
}
