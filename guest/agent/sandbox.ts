/**
 * {@linkcode Sandbox}: the agent's state and the behaviour behind each RPC (spec/runtime.md §3):
 * sandbox setup and teardown, containers with runc, processes and their stdio, stats and
 * resources. Transport- and policy-agnostic: `service.ts` decodes, checks policy and maps
 * errors; this class only acts.
 */
import { isAbsolute, join, normalize } from "node:path";
import type { agent, oci } from "@coco/lib/proto";
import type { Logger } from "@coco/lib/log";
import { agentError } from "./errors.ts";
import { Container } from "./container.ts";
import { type AgentPaths, ensureInside, verifyId } from "./paths.ts";
import { AgentProcess } from "./process.ts";
import type { OciRuntime, StartedProcess } from "./runtime.ts";
import { processToOci, resourcesToOci, specToOci } from "./oci_spec.ts";
import { addStorages, type MountedStorage, type StorageContext } from "./storage/mod.ts";
import { statsFromRunc } from "./stats.ts";
import { OomWatcher } from "./oom.ts";
import { copyFile } from "./copy_file.ts";

/** Process-level effects the sandbox needs (FFI in production; fakes in unit tests). */
export interface ProcessControl {
  wait(pid: number): Promise<number>;
  kill(pid: number, signal: number): void;
}

/** Options of {@linkcode Sandbox}. */
export interface SandboxOptions {
  paths: AgentPaths;
  runtime: OciRuntime;
  storage: Omit<StorageContext, "paths">;
  processes: ProcessControl;
  logger: Logger;
  /** Called after DestroySandbox has torn everything down (PID 1: power off). */
  onDestroyed?: () => void;
  /** Loads a kernel module (CreateSandbox `kernel_modules`); absent → such requests fail. */
  loadModule?: (name: string, params: readonly string[]) => Promise<void>;
  /** cgroup root for OOM counters (tests pass a fake tree). */
  cgroupRoot?: string;
}

const BIND = new Set(["bind", "rbind"]);

/** The sandbox: one per agent. */
export class Sandbox {
  readonly #o: SandboxOptions;
  readonly #containers = new Map<string, Container>();
  #created = false;
  #id = "";
  #storages: MountedStorage[] = [];
  readonly #oom: OomWatcher;
  readonly #waited = new WeakSet<AgentProcess>();

  constructor(options: SandboxOptions) {
    this.#o = options;
    this.#oom = new OomWatcher(() => [...this.#containers.keys()], {
      ...(options.cgroupRoot ? { root: options.cgroupRoot } : {}),
    });
  }

  get #ctx(): StorageContext {
    return { ...this.#o.storage, paths: this.#o.paths };
  }

  /** Container ids, for diagnostics and tests. */
  get containerIds(): string[] {
    return [...this.#containers.keys()];
  }

  #container(cid: string): Container {
    const c = this.#containers.get(verifyId(cid));
    if (!c) throw agentError("not-found", `Container ${cid} not found`);
    return c;
  }

  /** CreateSandbox: directories, DNS and sandbox-wide storages. */
  async createSandbox(req: agent.CreateSandboxRequest): Promise<void> {
    if (this.#created) throw agentError("already-exists", `Sandbox ${this.#id} already created`);
    if (req.guestHookPath !== "") {
      throw agentError("invalid-argument", "guest_hook_path is not supported by this agent");
    }
    for (const m of req.kernelModules) {
      if (!this.#o.loadModule) {
        throw agentError("failed-precondition", `Cannot load kernel module ${m.name}: not init`);
      }
      try {
        await this.#o.loadModule(m.name, m.parameters);
      } catch (err) {
        throw agentError("invalid-argument", `Cannot load kernel module ${m.name}`, err);
      }
    }
    const p = this.#o.paths;
    await Deno.mkdir(p.sandbox, { recursive: true });
    await Deno.mkdir(p.shared, { recursive: true });
    await Deno.mkdir(p.runtimeState, { recursive: true });
    if (req.dns.length) {
      await Deno.writeTextFile(join(p.sandbox, "resolv.conf"), req.dns.join("\n") + "\n");
    }
    this.#storages = await addStorages(req.storages, "", this.#ctx);
    this.#id = req.sandboxId;
    this.#created = true;
    this.#o.logger.info("sandbox created", { sandbox: req.sandboxId, hostname: req.hostname });
  }

  /** DestroySandbox: removes every container and sandbox storage. */
  async destroySandbox(): Promise<void> {
    for (const cid of [...this.#containers.keys()]) await this.removeContainer(cid);
    for (const s of this.#storages.reverse()) await s.cleanup().catch(() => {});
    this.#storages = [];
    this.#created = false;
    this.#oom.close(agentError("unavailable", "sandbox destroyed"));
    this.#o.logger.info("sandbox destroyed", { sandbox: this.#id });
    this.#o.onDestroyed?.();
  }

  async #checkMounts(cid: string, spec: oci.Spec): Promise<void> {
    for (const m of spec.Mounts) {
      if (!isAbsolute(m.destination) || normalize(m.destination).split("/").includes("..")) {
        throw agentError("invalid-argument", `Mount destination "${m.destination}" is not clean`);
      }
      if (m.type === "bind" || m.options.some((o) => BIND.has(o))) {
        await ensureInside(m.source, [this.#o.paths.base], `Container ${cid} bind mount source`);
      }
    }
  }

  async #rootPath(cid: string, spec: oci.Spec, storages: MountedStorage[]): Promise<string> {
    const pulled = storages.find((s) => s.driver === "image_guest_pull");
    if (pulled) return pulled.mountPoint;
    const root = spec.Root?.Path ?? "";
    const allowed = [this.#o.paths.bundle(cid), join(this.#o.paths.shared, cid)];
    return await ensureInside(root, allowed, `Container ${cid} Root.Path`);
  }

  /** CreateContainer: storages, bundle, `runc create`. */
  async createContainer(req: agent.CreateContainerRequest): Promise<void> {
    const cid = verifyId(req.containerId);
    if (this.#containers.has(cid)) throw agentError("already-exists", `Container ${cid} exists`);
    const spec = req.OCI;
    if (!spec?.Process) throw agentError("invalid-argument", `Container ${cid}: no OCI spec`);
    const execId = req.execId === "" ? cid : verifyId(req.execId, "exec id");
    await this.#checkMounts(cid, spec);
    const bundle = this.#o.paths.bundle(cid);
    const existed = await Deno.stat(bundle).then(() => true, () => false);
    let storages: MountedStorage[] = [];
    try {
      storages = await addStorages(req.storages, cid, this.#ctx);
      const root = await this.#rootPath(cid, spec, storages);
      await Deno.mkdir(bundle, { recursive: true });
      const config = specToOci(spec, root);
      const linux = (config.linux ?? {}) as Record<string, unknown>;
      config.linux = { ...linux, cgroupsPath: `/coco/${cid}` };
      // A CRI sandbox runs the guest pause bundle's process instead of its own (storage/).
      const pause = storages.find((s) => s.process)?.process;
      if (pause) config.process = pause;
      await Deno.writeTextFile(join(bundle, "config.json"), JSON.stringify(config, null, 2));
      const terminal = pause ? pause.terminal : spec.Process.Terminal;
      const started = await this.#o.runtime.create(cid, bundle, terminal);
      this.#containers.set(cid, new Container(cid, bundle, storages, this.#proc(execId, started)));
      await this.#oom.track(cid);
    } catch (err) {
      for (const s of storages.reverse()) await s.cleanup().catch(() => {});
      await this.#o.runtime.delete(cid).catch(() => {});
      if (!existed) await Deno.remove(bundle, { recursive: true }).catch(() => {});
      throw err;
    }
  }

  #proc(execId: string, started: StartedProcess): AgentProcess {
    return new AgentProcess(execId, started, (pid) => this.#o.processes.wait(pid));
  }

  /** StartContainer: `runc start`. */
  async startContainer(cid: string): Promise<void> {
    const c = this.#container(cid);
    if (c.state !== "created") {
      throw agentError("failed-precondition", `Container ${cid} is ${c.state}, not created`);
    }
    await this.#o.runtime.start(c.id);
    c.state = "running";
  }

  /** ExecProcess: `runc exec -d` of the given process. */
  async execProcess(req: agent.ExecProcessRequest): Promise<void> {
    const c = this.#container(req.containerId);
    const execId = verifyId(req.execId, "exec id");
    const old = c.processes.get(execId);
    if (old && !this.#waited.has(old)) {
      throw agentError("already-exists", `Exec ${execId} exists`);
    }
    if (!req.process) throw agentError("invalid-argument", `Exec ${execId}: no process`);
    if (c.state !== "running") {
      throw agentError("failed-precondition", `Container ${c.id} is ${c.state}, not running`);
    }
    const started = await this.#o.runtime.exec(
      c.id,
      c.bundle,
      execId,
      processToOci(req.process),
      req.process.Terminal,
    );
    c.processes.set(execId, this.#proc(execId, started));
    // A waited-for exec of the same id whose output nobody read: its id is free again.
    if (old) await old.release();
  }

  /** SignalProcess: one process, or every process of the container when exec_id is "". */
  async signalProcess(req: agent.SignalProcessRequest): Promise<void> {
    const c = this.#container(req.containerId);
    if (req.signal < 1 || req.signal > 64) {
      throw agentError("invalid-argument", `Signal ${req.signal} is not 1-64`);
    }
    if (req.execId === "") {
      if (c.init.exitCode === undefined) await this.#o.runtime.kill(c.id, req.signal, true);
      return;
    }
    const p = c.process(req.execId);
    if (p.exitCode === undefined) this.#o.processes.kill(p.pid, req.signal);
  }

  /**
   * WaitProcess: the exit code. An exec'd process is forgotten once it has been waited for AND
   * its output has been read to EOF, so a caller that waits before it has read everything (the
   * shim's reads lag in a slow VM) still gets the rest; upstream drops it at once. Output nobody
   * reads is released with the container.
   */
  async waitProcess(cid: string, execId: string): Promise<number> {
    const c = this.#container(cid);
    const p = c.process(execId);
    const code = await p.wait();
    if (p !== c.init && !this.#waited.has(p)) {
      this.#waited.add(p);
      void p.drained().then(async () => {
        if (c.processes.get(p.execId) === p) c.processes.delete(p.execId);
        await p.release();
      });
    }
    return code;
  }

  /** CopyFile: one chunk of a file sent by a host without a shared filesystem. */
  async copyFile(req: agent.CopyFileRequest): Promise<void> {
    await copyFile(this.#o.paths, req);
  }

  /** ReadStdout / ReadStderr: at most `len` bytes; empty at EOF. */
  read(req: agent.ReadStreamRequest, stream: "stdout" | "stderr"): Promise<Uint8Array> {
    const p = this.#container(req.containerId).process(req.execId);
    return p[stream].read(req.len);
  }

  /** WriteStdin: empty data closes stdin, as upstream. */
  async write(req: agent.WriteStreamRequest): Promise<number> {
    const p = this.#container(req.containerId).process(req.execId);
    if (req.data.length === 0) {
      await p.closeStdin();
      return 0;
    }
    try {
      return await p.write(req.data);
    } catch (err) {
      throw agentError("failed-precondition", `Cannot write stdin of ${p.execId}: closed`, err);
    }
  }

  /** CloseStdin. */
  async closeStdin(cid: string, execId: string): Promise<void> {
    await this.#container(cid).process(execId).closeStdin();
  }

  /** TtyWinResize: sets the size of the process's pty (UNAVAILABLE when it has none). */
  ttyWinResize(req: agent.TtyWinResizeRequest): void {
    const p = this.#container(req.containerId).process(req.execId);
    if (req.row > 0xffff || req.column > 0xffff) {
      throw agentError("invalid-argument", `Window size ${req.row}x${req.column} is too large`);
    }
    p.resize(req.row, req.column);
  }

  /** StatsContainer from the container's cgroups (`runc events --stats`). */
  async stats(cid: string) {
    return statsFromRunc(await this.#o.runtime.stats(this.#container(cid).id));
  }

  /** PauseContainer / ResumeContainer (freezer cgroup). */
  async pause(cid: string, resume: boolean): Promise<void> {
    const c = this.#container(cid);
    await this.#o.runtime.pause(c.id, resume);
    c.state = resume ? "running" : "paused";
  }

  /** UpdateContainer: new cgroup resources. */
  async update(req: agent.UpdateContainerRequest): Promise<void> {
    const c = this.#container(req.containerId);
    if (!req.resources) return;
    await this.#o.runtime.update(c.id, resourcesToOci(req.resources));
  }

  /** ListProcesses: pids of the container (one per line, like `ps -o pid`). */
  async listProcesses(cid: string): Promise<number[]> {
    return await this.#o.runtime.pids(this.#container(cid).id);
  }

  /** RemoveContainer: kill, `runc delete`, storages and bundle cleaned up. */
  async removeContainer(cid: string): Promise<void> {
    const c = this.#container(cid);
    if (c.init.exitCode === undefined) {
      await this.#o.runtime.kill(c.id, 9, true).catch(() => {});
      this.#o.processes.kill(c.init.pid, 9);
    }
    await c.init.wait();
    await this.#o.runtime.delete(c.id);
    for (const p of c.processes.values()) await p.release();
    for (const s of [...c.storages].reverse()) if (!s.shared) await s.cleanup().catch(() => {});
    await Deno.remove(c.bundle, { recursive: true }).catch(() => {});
    this.#containers.delete(c.id);
    this.#oom.untrack(c.id);
  }

  /** GetOOMEvent: resolves with a container id when one OOMs; rejects on DestroySandbox. */
  oomEvent(): Promise<string> {
    return this.#oom.next();
  }
}
