/**
 * The shim's bookkeeping: containers (tasks) and their processes — status, stdio, exit status
 * and a promise that resolves on exit (what Wait blocks on).
 */
import type { SharedMountWatcher } from "./shared_files_watch.ts";
import type { ctrdTypes } from "@coco/lib/proto";
import type { PodRole } from "./address.ts";
import type { AgentProcess } from "./oci_spec.ts";
import type { ProcessIO, StdioPaths } from "./stdio.ts";

/** Lifecycle of one process as containerd sees it. */
export type ProcStatus = "created" | "running" | "stopped";

/** A container's init process or an exec. */
export class Proc {
  /** "" for the init process. */
  readonly execId: string;
  readonly stdio: StdioPaths;
  readonly io: ProcessIO;
  /** OCI process of an exec (absent for init). */
  readonly spec: AgentProcess | undefined;
  status: ProcStatus = "created";
  exitStatus = 0;
  exitedAt: Date | undefined;
  readonly exited: Promise<void>;
  #resolve!: () => void;

  constructor(execId: string, stdio: StdioPaths, io: ProcessIO, spec?: AgentProcess) {
    this.execId = execId;
    this.stdio = stdio;
    this.io = io;
    this.spec = spec;
    this.exited = new Promise((r) => this.#resolve = r);
  }

  /** Records the exit once; later calls are ignored. Returns whether this call recorded it. */
  markExited(status: number, at = new Date()): boolean {
    if (this.status === "stopped") return false;
    this.status = "stopped";
    this.exitStatus = status;
    this.exitedAt = at;
    this.#resolve();
    return true;
  }
}

/** One task (container). */
export interface Ctr {
  id: string;
  bundle: string;
  role: PodRole;
  rootfs: ctrdTypes.Mount[];
  init: Proc;
  execs: Map<string, Proc>;
  paused: boolean;
  /** Host mount point of the rootfs (local agent only). */
  hostRootfs?: string;
  /** Copies Kubernetes volume updates into the guest (shared_files_watch.ts). */
  volumeWatcher?: SharedMountWatcher;
}
