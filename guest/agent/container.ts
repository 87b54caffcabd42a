/**
 * {@linkcode Container}: one container the agent created — its bundle, storages, runtime state
 * and processes (the init process under its exec id, plus exec'd ones).
 */
import type { AgentProcess } from "./process.ts";
import { agentError } from "./errors.ts";
import type { MountedStorage } from "./storage/mod.ts";

/** Lifecycle state as the agent tracks it. */
export type ContainerState = "created" | "running" | "paused" | "stopped";

/** A container and its processes. */
export class Container {
  readonly id: string;
  readonly bundle: string;
  readonly storages: MountedStorage[];
  readonly init: AgentProcess;
  readonly processes = new Map<string, AgentProcess>();
  state: ContainerState = "created";

  constructor(id: string, bundle: string, storages: MountedStorage[], init: AgentProcess) {
    this.id = id;
    this.bundle = bundle;
    this.storages = storages;
    this.init = init;
    this.processes.set(init.execId, init);
    void init.wait().then(() => this.state = "stopped");
  }

  /** The process with `execId` ("" = the init process), or NOT_FOUND. */
  process(execId: string): AgentProcess {
    const p = execId === "" ? this.init : this.processes.get(execId);
    if (!p) {
      throw agentError("not-found", `Process "${execId}" not found in container ${this.id}`);
    }
    return p;
  }
}
