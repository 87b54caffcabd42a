/**
 * Longer than 300 lines on purpose: this is the one RPC table of the Task service, kept together
 * so the mapping to agent calls and the event order can be read in one place.
 *
 * The `containerd.task.v2.Task` ttrpc service (spec/runtime.md §5.4): every RPC mapped to agent
 * calls as Kata does; pids are the backend's (QEMU) pid; events in order through the
 * {@linkcode EventPublisher}. Errors are mapped to ttrpc status codes here and only here.
 */
import type { Logger } from "@coco/lib/log";
import { ctrdEvents, ctrdTaskTypes, shimTask } from "@coco/lib/proto";
import { Code, type ServiceImpl, TtrpcError, type TtrpcServer } from "@coco/lib/ttrpc";
import { ShimError, shimError, type ShimErrorCode } from "./errors.ts";
import type { EventPublisher } from "./events.ts";
import { processFromOci, resourcesFromOci } from "./oci_spec.ts";
import type { Pod } from "./pod.ts";
import { type Ctr, Proc } from "./state.ts";
import { metricsAny } from "./stats.ts";
import { type AgentStreams, ProcessIO } from "./stdio.ts";

const STATUS: Record<ShimErrorCode, Code> = {
  "bad-flags": Code.INVALID_ARGUMENT,
  "bad-bundle": Code.INVALID_ARGUMENT,
  "bad-config": Code.FAILED_PRECONDITION,
  "bad-request": Code.INVALID_ARGUMENT,
  "not-found": Code.NOT_FOUND,
  "already-exists": Code.ALREADY_EXISTS,
  "failed-precondition": Code.FAILED_PRECONDITION,
  "unimplemented": Code.UNIMPLEMENTED,
  "start-failed": Code.UNAVAILABLE,
  "internal": Code.INTERNAL,
};

/** Maps any failure to a ttrpc status (agent statuses keep their code). */
export function toStatus(err: unknown, method: string, log: Logger): TtrpcError {
  if (err instanceof ShimError) {
    if (err.code === "internal" || err.code === "start-failed") {
      log.error("task call failed", { method, error: err });
    }
    return new TtrpcError(STATUS[err.code], err.message, { cause: err });
  }
  if (err instanceof TtrpcError) {
    log.warn("agent call failed", { method, error: err });
    return new TtrpcError(err.status, `agent: ${err.message}`, { cause: err });
  }
  log.error("task call failed", { method, error: err });
  return new TtrpcError(Code.INTERNAL, `${method}: ${(err as Error)?.message ?? err}`, {
    cause: err,
  });
}

const ts = (d: Date | undefined) =>
  d
    ? { seconds: BigInt(Math.floor(d.getTime() / 1000)), nanos: (d.getTime() % 1000) * 1e6 }
    : undefined;

const SIGKILL = 9;
const SIGTERM = 15;
const PROCESS_TYPE = "opencontainers/runtime-spec/1/Process";

/** Options of {@linkcode TaskService}. */
export interface TaskServiceOptions {
  pod: Pod;
  events: EventPublisher;
  logger: Logger;
  /** Called (after the reply) when Shutdown finds no container left. */
  onShutdown: () => void;
}

/** State and handlers of the task service. */
export class TaskService {
  readonly #o: TaskServiceOptions;
  readonly containers = new Map<string, Ctr>();

  constructor(options: TaskServiceOptions) {
    this.#o = options;
  }

  #ctr(id: string): Ctr {
    const c = this.containers.get(id);
    if (!c) throw shimError("not-found", `container ${id} does not exist`);
    return c;
  }

  #proc(id: string, execId: string): { c: Ctr; p: Proc } {
    const c = this.#ctr(id);
    if (execId === "") return { c, p: c.init };
    const p = c.execs.get(execId);
    if (!p) throw shimError("not-found", `exec ${execId} of container ${id} does not exist`);
    return { c, p };
  }

  get #pid(): number {
    return this.#o.pod.backend?.pid ?? 0;
  }

  #agent() {
    const b = this.#o.pod.backend;
    if (!b || !this.#o.pod.alive) throw shimError("failed-precondition", "the pod is not running");
    return b.agent.agent;
  }

  #streams(c: Ctr, p: Proc): AgentStreams {
    const agent = this.#agent();
    const execId = p.execId || c.id;
    return {
      write: async (data) => (await agent.writeStdin({ containerId: c.id, execId, data })).len,
      read: async (which, len) => {
        const req = { containerId: c.id, execId, len };
        return (which === "stdout" ? await agent.readStdout(req) : await agent.readStderr(req))
          .data;
      },
    };
  }

  /**
   * Drains the output, then waits for the agent-side exit and publishes TaskExit. The order is
   * Kata's ("wait until the io closed, then wait the container"): the agent forgets an exec'd
   * process, and drops whatever it still buffered, once WaitProcess returns, so asking first
   * lost the short output of fast processes whenever the reads lagged (a TCG VM).
   */
  #watch(c: Ctr, p: Proc): void {
    const agent = this.#agent();
    void (async () => {
      let code = 255;
      await p.io.outputDone;
      try {
        code = (await agent.waitProcess({ containerId: c.id, execId: p.execId || c.id })).status;
      } catch (err) {
        this.#o.logger.warn("WaitProcess failed", { id: c.id, exec: p.execId, error: err });
        // The agent connection usually ends because the VM died: report that as SIGKILL.
        if (await this.#o.pod.backendExitedWithin(5000)) code = 128 + SIGKILL;
      }
      this.#exit(c, p, code);
      if (p === c.init && c.role.kind !== "container") {
        for (const other of this.containers.values()) {
          if (other !== c) this.#exit(other, other.init, 137);
        }
        // Let the exits go first, but do not keep the VM up while containerd is away.
        await this.#o.events.flush(10_000);
        await this.#o.pod.teardown();
      }
    })();
  }

  #exit(c: Ctr, p: Proc, code: number): void {
    if (!p.markExited(code)) return;
    this.#o.events.publish("/tasks/exit", ctrdEvents.TaskExitSchema, {
      containerId: c.id,
      id: p.execId || c.id,
      pid: this.#pid,
      exitStatus: code,
      exitedAt: ts(p.exitedAt),
    });
  }

  /** The backend died: every running process exits with 128 + SIGKILL. */
  backendLost(): void {
    for (const c of this.containers.values()) {
      for (const p of [c.init, ...c.execs.values()]) this.#exit(c, p, 128 + SIGKILL);
    }
  }

  /** Handlers keyed by method local name. */
  handlers(): ServiceImpl<(typeof shimTask.Task)["method"]> {
    const ev = this.#o.events;
    const pod = this.#o.pod;
    return {
      create: async (req) => {
        if (this.containers.has(req.id)) {
          throw shimError("already-exists", `container ${req.id} exists`);
        }
        if (req.checkpoint) {
          throw shimError("unimplemented", "restoring from a checkpoint is not supported");
        }
        const c = await pod.createContainer(req);
        try {
          await c.init.io.attachLogger({ containerId: c.id, namespace: ev.namespace });
        } catch (err) {
          await pod.removeContainer(c);
          if (c.role.kind !== "container") await pod.cleanup();
          throw err;
        }
        this.containers.set(c.id, c);
        ev.publish("/tasks/create", ctrdEvents.TaskCreateSchema, {
          containerId: c.id,
          bundle: req.bundle,
          rootfs: req.rootfs,
          io: { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: req.terminal },
          checkpoint: req.checkpoint,
          pid: this.#pid,
        });
        return { pid: this.#pid };
      },
      start: async (req) => {
        const { c, p } = this.#proc(req.id, req.execId);
        if (p.status !== "created") {
          throw shimError("failed-precondition", `process ${req.execId || req.id} is ${p.status}`);
        }
        const agent = this.#agent();
        try {
          if (p === c.init) {
            await agent.startContainer({ containerId: c.id }, pod.callOptions);
          } else {
            await agent.execProcess(
              { containerId: c.id, execId: p.execId, process: p.spec },
              pod.callOptions,
            );
          }
        } catch (err) {
          // containerd's client waits for EOF on the stdio FIFOs before it deletes a process
          // whose Start failed: close our ends now, or `ctr task exec` hangs.
          p.io.close();
          throw err;
        }
        p.status = "running";
        p.io.start(this.#streams(c, p));
        // Published before the watcher can publish TaskExit (one ordered queue).
        if (p === c.init) {
          ev.publish("/tasks/start", ctrdEvents.TaskStartSchema, {
            containerId: c.id,
            pid: this.#pid,
          });
        } else {
          ev.publish("/tasks/exec-started", ctrdEvents.TaskExecStartedSchema, {
            containerId: c.id,
            execId: p.execId,
            pid: this.#pid,
          });
        }
        this.#watch(c, p);
        return { pid: this.#pid };
      },
      delete: async (req) => {
        const { c, p } = this.#proc(req.id, req.execId);
        if (p.status === "running") {
          throw shimError(
            "failed-precondition",
            `process ${req.execId || req.id} is still running`,
          );
        }
        const exitedAt = p.exitedAt ?? new Date();
        if (p !== c.init) {
          c.execs.delete(p.execId);
          p.io.close();
          return { pid: this.#pid, exitStatus: p.exitStatus, exitedAt: ts(exitedAt) };
        }
        await pod.removeContainer(c);
        this.containers.delete(c.id);
        ev.publish("/tasks/delete", ctrdEvents.TaskDeleteSchema, {
          containerId: c.id,
          pid: this.#pid,
          exitStatus: p.exitStatus,
          exitedAt: ts(exitedAt),
          id: c.id,
        });
        if (c.role.kind !== "container") await pod.cleanup();
        return { pid: this.#pid, exitStatus: p.exitStatus, exitedAt: ts(exitedAt) };
      },
      exec: async (req) => {
        const c = this.#ctr(req.id);
        if (!req.execId) throw shimError("bad-request", "exec_id is required");
        if (c.execs.has(req.execId)) throw shimError("already-exists", `exec ${req.execId} exists`);
        if (!req.spec?.typeUrl.endsWith(PROCESS_TYPE)) {
          throw shimError(
            "bad-request",
            `exec spec must be a ${PROCESS_TYPE}, not ${req.spec?.typeUrl}`,
          );
        }
        let json: unknown;
        try {
          json = JSON.parse(new TextDecoder().decode(req.spec.value));
        } catch (err) {
          throw shimError("bad-request", "exec spec is not JSON", err);
        }
        let spec;
        try {
          spec = processFromOci(json, "exec process");
        } catch (err) {
          throw shimError("bad-request", `Cannot use exec spec: ${(err as Error).message}`, err);
        }
        spec.Terminal = req.terminal;
        const stdio = {
          stdin: req.stdin,
          stdout: req.stdout,
          stderr: req.stderr,
          terminal: req.terminal,
        };
        const io = await ProcessIO.open(stdio, this.#o.logger, {
          containerId: c.id,
          namespace: ev.namespace,
        });
        c.execs.set(req.execId, new Proc(req.execId, stdio, io, spec));
        ev.publish("/tasks/exec-added", ctrdEvents.TaskExecAddedSchema, {
          containerId: c.id,
          execId: req.execId,
        });
        return {};
      },
      resizePty: async (req) => {
        const { c, p } = this.#proc(req.id, req.execId);
        await this.#agent().ttyWinResize({
          containerId: c.id,
          execId: p.execId || c.id,
          row: req.height,
          column: req.width,
        }, pod.callOptions);
        return {};
      },
      state: (req) => {
        const { c, p } = this.#proc(req.id, req.execId);
        const S = ctrdTaskTypes.Status;
        const status = p.status === "created"
          ? S.CREATED
          : p.status === "stopped"
          ? S.STOPPED
          : c.paused
          ? S.PAUSED
          : S.RUNNING;
        return {
          id: c.id,
          bundle: c.bundle,
          pid: this.#pid,
          status,
          stdin: p.stdio.stdin,
          stdout: p.stdio.stdout,
          stderr: p.stdio.stderr,
          terminal: p.stdio.terminal,
          exitStatus: p.exitStatus,
          exitedAt: ts(p.exitedAt),
          execId: p.execId,
        };
      },
      pids: (req) => {
        this.#ctr(req.id);
        return { processes: this.#pid ? [{ pid: this.#pid }] : [] };
      },
      pause: async (req) => {
        const c = this.#ctr(req.id);
        await this.#agent().pauseContainer({ containerId: c.id }, pod.callOptions);
        c.paused = true;
        ev.publish("/tasks/paused", ctrdEvents.TaskPausedSchema, { containerId: c.id });
        return {};
      },
      resume: async (req) => {
        const c = this.#ctr(req.id);
        await this.#agent().resumeContainer({ containerId: c.id }, pod.callOptions);
        c.paused = false;
        ev.publish("/tasks/resumed", ctrdEvents.TaskResumedSchema, { containerId: c.id });
        return {};
      },
      checkpoint: () => {
        throw shimError("unimplemented", "Checkpoint is not supported by a VM-based runtime");
      },
      kill: async (req) => {
        const { c, p } = this.#proc(req.id, req.execId);
        if (p.status === "stopped" || !pod.alive) {
          if (req.signal === SIGKILL || req.signal === SIGTERM) return {};
          throw shimError("not-found", `process ${req.execId || req.id} already finished`);
        }
        // An empty exec id signals every process of the container (Kata forces all=true).
        await this.#agent().signalProcess({
          containerId: c.id,
          execId: req.execId,
          signal: req.signal,
        }, pod.callOptions);
        return {};
      },
      closeIO: async (req) => {
        const { c, p } = this.#proc(req.id, req.execId);
        if (req.stdin) {
          await p.io.stdinDone;
          if (p.status !== "stopped" && pod.alive) {
            await this.#agent().closeStdin(
              { containerId: c.id, execId: p.execId || c.id },
              pod.callOptions,
            );
          }
        }
        return {};
      },
      update: async (req) => {
        const c = this.#ctr(req.id);
        if (!req.resources) return {};
        let resources;
        try {
          resources = resourcesFromOci(JSON.parse(new TextDecoder().decode(req.resources.value)));
        } catch (err) {
          throw shimError(
            "bad-request",
            `Cannot use the update resources: ${(err as Error).message}`,
            err,
          );
        }
        await this.#agent().updateContainer({ containerId: c.id, resources }, pod.callOptions);
        return {};
      },
      wait: async (req) => {
        const { p } = this.#proc(req.id, req.execId);
        await p.exited;
        return { exitStatus: p.exitStatus, exitedAt: ts(p.exitedAt) };
      },
      stats: async (req) => {
        const c = this.#ctr(req.id);
        return {
          stats: metricsAny(
            await this.#agent().statsContainer({ containerId: c.id }, pod.callOptions),
          ),
        };
      },
      connect: (req) => {
        this.#ctr(req.id);
        return { shimPid: Deno.pid, taskPid: this.#pid, version: "coco-host 0.1.0" };
      },
      shutdown: () => {
        if (this.containers.size === 0) setTimeout(() => this.#o.onShutdown(), 0);
        return {};
      },
    };
  }

  /** Registers the service with error mapping around every handler. */
  register(server: TtrpcServer): void {
    const impl = this.handlers() as Record<string, (req: unknown, ctx: unknown) => unknown>;
    const wrapped: Record<string, (req: unknown, ctx: unknown) => Promise<unknown>> = {};
    for (const [name, fn] of Object.entries(impl)) {
      wrapped[name] = async (req, ctx) => {
        try {
          this.#o.logger.debug("task call", { method: name });
          return await fn(req, ctx);
        } catch (err) {
          throw toStatus(err, name, this.#o.logger);
        }
      };
    }
    server.registerService(shimTask.Task, wrapped as ServiceImpl<(typeof shimTask.Task)["method"]>);
  }
}
