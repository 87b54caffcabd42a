/**
 * {@linkcode Pod}: the sandbox behind one shim — boots the backend on the first (sandbox or
 * single) container, sets the agent policy, creates and removes containers through the agent,
 * and tears everything down (spec/runtime.md §5.4 "Kata's behaviour worth mirroring").
 */
import { join } from "node:path";
import { parseInitDataAnnotation } from "@coco/lib/initdata";
import type { Logger } from "@coco/lib/log";
import type { shimTask } from "@coco/lib/proto";
import { type PodRole, podRole } from "./address.ts";
import { type BackendRequest, type PodBackend, startBackend } from "./backend.ts";
import type { ShimConfig } from "./config.ts";
import { shimError } from "./errors.ts";
import { constrainForGuest, readBundleConfig, specFromOci } from "./oci_spec.ts";
import { type CopyFileInit, shareHostMounts } from "./shared_files.ts";
import { type SharedMountWatcher, watchSharedMounts } from "./shared_files_watch.ts";
import { logPhase } from "./phases.ts";
import {
  guestPullStorage,
  guestPullVolume,
  imageReference,
  mountHostRootfs,
  type StorageInit,
  unmountHostRootfs,
} from "./rootfs.ts";
import { removeRunDir } from "./run_dir.ts";
import { type Ctr, Proc } from "./state.ts";
import { ProcessIO } from "./stdio.ts";

export { mountsUnder, removeRunDir } from "./run_dir.ts";

/** Pod annotation carrying base64(gzip(init-data TOML)). */
export const INIT_DATA_ANNOTATION = "io.katacontainers.config.hypervisor.cc_init_data";
/** Pod annotation carrying base64 Rego for SetPolicy. */
export const POLICY_ANNOTATION = "io.katacontainers.config.agent.policy";

/** Starts a backend (replaceable in tests). */
export type BackendStarter = (req: BackendRequest) => Promise<PodBackend>;

/** Options of {@linkcode Pod}. */
export interface PodOptions {
  config: ShimConfig;
  logger: Logger;
  startBackend?: BackendStarter;
  /** Called when the backend dies without being asked to. */
  onBackendLost?: () => void;
}

async function policyText(
  cfg: ShimConfig,
  ann: Record<string, string>,
): Promise<string | undefined> {
  const b64 = ann[POLICY_ANNOTATION];
  if (b64 !== undefined) {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.fromBase64(b64.trim()));
    } catch (err) {
      throw shimError("bad-request", `Annotation ${POLICY_ANNOTATION} is not base64 UTF-8`, err);
    }
  }
  if (cfg.defaultPolicy) return await Deno.readTextFile(cfg.defaultPolicy);
  return undefined;
}

/** The sandbox and its containers' agent-side lifecycle. */
export class Pod {
  readonly #o: PodOptions;
  backend: PodBackend | undefined;
  sandboxId = "";
  #stopping = false;
  #teardown: Promise<void> | undefined;
  readonly #watchers = new Set<SharedMountWatcher>();

  constructor(options: PodOptions) {
    this.#o = options;
  }

  get #log(): Logger {
    return this.#o.logger;
  }

  /** True while the backend is up. */
  get alive(): boolean {
    return this.backend !== undefined && !this.#stopping;
  }

  async #boot(id: string, annotations: Record<string, string>): Promise<PodBackend> {
    const runDir = join(this.#o.config.runtimeDir, id);
    await Deno.mkdir(runDir, { recursive: true, mode: 0o700 });
    const initB64 = annotations[INIT_DATA_ANNOTATION];
    const initData = initB64 ? await parseInitDataAnnotation(initB64) : undefined;
    const start = this.#o.startBackend ??
      ((r: BackendRequest) => startBackend(this.#o.config, r, this.#log));
    const backend = await start({ sandboxId: id, runDir, ...(initData ? { initData } : {}) });
    const connectedAt = backend.connectedAt ?? performance.now();
    try {
      const policy = await policyText(this.#o.config, annotations);
      if (policy !== undefined) await backend.agent.agent.setPolicy({ policy }, this.#t());
      await backend.agent.agent.createSandbox({
        sandboxId: id,
        hostname: "",
        storages: [],
      }, this.#t());
      logPhase(this.#log, "agent-ready", performance.now() - connectedAt, {
        policy: policy !== undefined,
      });
      timeStartContainer(backend, this.#log);
    } catch (err) {
      await backend.stop().catch(() => {});
      throw err;
    }
    void backend.exited.then(() => {
      if (!this.#stopping) {
        this.#log.error("the pod backend exited unexpectedly", { pid: backend.pid });
        // Teardown still runs the backend's stop(), which reaps what it left behind.
        void this.teardown();
        this.#o.onBackendLost?.();
      }
    });
    return backend;
  }

  #t(ms = this.#o.config.agentTimeoutMs) {
    return { timeoutMs: ms };
  }

  /** Call options for one-shot agent calls (`shim.agent_timeout`): no call may hang forever. */
  get callOptions(): { timeoutMs: number } {
    return this.#t();
  }

  /** Create: boot when needed, then agent CreateContainer. */
  async createContainer(req: shimTask.CreateTaskRequest): Promise<Ctr> {
    const raw = await readBundleConfig(req.bundle);
    const parsed = specFromOci(raw, "");
    const role: PodRole = podRole(req.id, parsed.annotations);
    let booted = false;
    if (role.kind === "container") {
      if (!this.alive || role.sandboxId !== this.sandboxId) {
        throw shimError(
          "failed-precondition",
          `Sandbox ${role.sandboxId} is not running in this shim`,
        );
      }
    } else {
      if (this.backend) {
        throw shimError("already-exists", `This shim already runs sandbox ${this.sandboxId}`);
      }
      this.backend = await this.#boot(req.id, parsed.annotations);
      this.sandboxId = req.id;
      booted = true;
    }
    const backend = this.backend!;
    const cid = req.id;
    let hostRootfs: string | undefined;
    let io: ProcessIO | undefined;
    try {
      const volume = guestPullVolume(req.rootfs);
      const storages: StorageInit[] = [];
      let rootPath: string;
      if (this.#o.config.forceGuestPull || volume) {
        const sandbox = role.kind === "sandbox";
        const source = imageReference(sandbox, parsed.annotations, volume);
        const metadata = { ...(volume?.metadata ?? {}), ...parsed.annotations };
        const st = guestPullStorage(cid, backend.containerBase, source, metadata);
        storages.push(st);
        rootPath = st.mountPoint!;
      } else if (backend.kind === "none") {
        hostRootfs = await mountHostRootfs(
          cid,
          backend.containerBase,
          req.rootfs,
          req.bundle,
          parsed.rootPath,
        );
        rootPath = hostRootfs;
      } else {
        throw shimError(
          "failed-precondition",
          "The pod VM has no host filesystem share: enable shim.force_guest_pull or use the coco snapshotter",
        );
      }
      parsed.spec.Root = { ...parsed.spec.Root, Path: rootPath };
      if (backend.kind !== "none") constrainForGuest(parsed.spec);
      const copy = (r: CopyFileInit) => backend.agent.agent.copyFile(r, this.#t());
      const shared = await shareHostMounts(parsed.spec, cid, backend.containerBase, copy);
      const stdio = {
        stdin: req.stdin,
        stdout: req.stdout,
        stderr: req.stderr,
        terminal: req.terminal,
      };
      io = await ProcessIO.open(stdio, this.#log);
      const t0 = performance.now();
      await backend.agent.agent.createContainer({
        containerId: cid,
        execId: cid,
        OCI: parsed.spec,
        storages,
      }, this.#t(this.#o.config.createContainerTimeoutMs));
      logPhase(this.#log, "image-pull", performance.now() - t0, {
        container: cid,
        guestPull: storages.length > 0,
        measured: "CreateContainer",
      });
      const ctr: Ctr = {
        id: cid,
        bundle: req.bundle,
        role,
        rootfs: req.rootfs,
        init: new Proc("", stdio, io),
        execs: new Map(),
        paused: false,
      };
      if (hostRootfs) ctr.hostRootfs = hostRootfs;
      const watcher = await watchSharedMounts(shared, copy, this.#log);
      if (watcher) {
        ctr.volumeWatcher = watcher;
        this.#watchers.add(watcher);
      }
      return ctr;
    } catch (err) {
      io?.close();
      if (hostRootfs) await unmountHostRootfs(hostRootfs);
      if (booted) await this.cleanup();
      throw err;
    }
  }

  /** Agent RemoveContainer (when the backend is up) and host cleanup. */
  async removeContainer(c: Ctr): Promise<void> {
    if (this.alive) {
      await this.backend!.agent.agent.removeContainer({ containerId: c.id }, this.#t())
        .catch((err) => this.#log.warn("RemoveContainer failed", { id: c.id, error: err }));
    }
    if (c.volumeWatcher) {
      this.#watchers.delete(c.volumeWatcher);
      await c.volumeWatcher.stop();
    }
    c.init.io.close();
    for (const p of c.execs.values()) p.io.close();
    if (c.hostRootfs) await unmountHostRootfs(c.hostRootfs);
  }

  /** True when the backend has exited (or exits within `ms`). */
  async backendExitedWithin(ms: number): Promise<boolean> {
    const b = this.backend;
    if (!b) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
    const gone = await Promise.race([b.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return gone;
  }

  /** DestroySandbox and stop the backend; concurrent callers share one teardown. */
  teardown(): Promise<void> {
    const b = this.backend;
    if (!b) return this.#teardown ?? Promise.resolve();
    this.#stopping = true;
    this.#teardown ??= (async () => {
      for (const w of this.#watchers) await w.stop();
      this.#watchers.clear();
      await b.agent.agent.destroySandbox({}, { timeoutMs: 10_000 }).catch(() => {});
      await b.stop().catch((err) => this.#log.warn("backend stop failed", { error: err }));
      this.backend = undefined;
    })();
    return this.#teardown;
  }

  /** Teardown, then remove the sandbox run directory (once no container mount is left). */
  async cleanup(): Promise<void> {
    await this.teardown();
    if (this.sandboxId) {
      await removeRunDir(join(this.#o.config.runtimeDir, this.sandboxId), this.#log);
    }
  }
}

/**
 * Logs `container-start` around each StartContainer. The Task service calls StartContainer on
 * the agent client directly, so the pod wraps that one stub of its backend's client once.
 */
function timeStartContainer(backend: PodBackend, log: Logger): void {
  const stubs = backend.agent.agent;
  const startContainer = stubs.startContainer;
  stubs.startContainer = async (req, opts) => {
    const t0 = performance.now();
    const out = await startContainer(req, opts);
    logPhase(log, "container-start", performance.now() - t0, { container: req.containerId ?? "" });
    return out;
  };
}
