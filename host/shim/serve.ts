/**
 * Serving mode (no action word): the long-lived shim. Listens on the task socket, serves
 * `containerd.task.v2.Task` to any number of connections, publishes events, and exits after
 * Shutdown with no containers left (or on SIGTERM), tearing the pod down first. Writes `ready`
 * on stdout once listening — the only thing it ever writes there — so `start` needs no polling.
 */
import { join } from "node:path";
import { createLogger, type Logger } from "@coco/lib/log";
import { listen, TtrpcServer } from "@coco/lib/ttrpc";
import { socketAddress, socketPath } from "./address.ts";
import type { ShimConfig } from "./config.ts";
import { EventPublisher } from "./events.ts";
import type { ShimFlags } from "./flags.ts";
import { logPhase, shimStartMs } from "./phases.ts";
import { type BackendStarter, Pod } from "./pod.ts";
import { TaskService } from "./task_service.ts";

/** A log sink that never blocks the shim: lines are dropped while the FIFO is full. */
async function fifoLogWrite(path: string): Promise<((line: string) => void) | undefined> {
  let file: Deno.FsFile;
  try {
    if (!(await Deno.stat(path)).isFifo) return undefined;
    file = await Deno.open(path, { read: true, write: true });
  } catch {
    return undefined;
  }
  const enc = new TextEncoder();
  let queued = 0;
  let tail = Promise.resolve();
  return (line) => {
    if (queued > 256) return;
    queued++;
    const data = enc.encode(line + "\n");
    tail = tail.then(async () => {
      let off = 0;
      while (off < data.length) off += await file.write(data.subarray(off));
    }).catch(() => {}).finally(() => void queued--);
  };
}

/** A running serving-mode shim (tests stop it with `shutdown`). */
export interface ServingShim {
  address: string;
  service: TaskService;
  /** Resolves when the shim has shut down. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/** Options of {@linkcode serveShim}. */
export interface ServeOptions {
  logger?: Logger;
  startBackend?: BackendStarter;
  /** Environment (`TTRPC_ADDRESS`); defaults to the process environment. */
  env?: (name: string) => string | undefined;
}

/** Starts serving; resolves once the socket listens. */
export async function serveShim(
  flags: ShimFlags,
  config: ShimConfig,
  opts: ServeOptions = {},
): Promise<ServingShim> {
  const env = opts.env ?? ((n: string) => Deno.env.get(n));
  const bundle = flags.bundle || Deno.cwd();
  const write = await fifoLogWrite(join(bundle, "log"));
  const logger = (opts.logger ?? createLogger({
    level: flags.debug ? "debug" : config.logLevel,
    ...(write ? { write } : {}),
  })).child({ shim: flags.id, namespace: flags.namespace });
  const address = socketAddress(flags.address, flags.namespace, flags.id, config.socketDir);
  const ttrpcAddress = env("TTRPC_ADDRESS");
  const events = new EventPublisher({
    namespace: flags.namespace,
    logger,
    ...(ttrpcAddress ? { ttrpcAddress } : {}),
    ...(flags.publishBinary ? { publishBinary: flags.publishBinary } : {}),
    ...(flags.address ? { containerdAddress: flags.address } : {}),
  });
  const ref: { service?: TaskService } = {};
  const pod = new Pod({
    config,
    logger,
    ...(opts.startBackend ? { startBackend: opts.startBackend } : {}),
    onBackendLost: () => ref.service?.backendLost(),
  });
  const server = new TtrpcServer({ logger });
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => resolveDone = r);
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    stopping ??= (async () => {
      logger.info("shim shutting down");
      // Deliver what is queued, but a shim stopped while containerd is away must not wait for
      // the publisher's 10-minute retry window: 10 s, then close() drops the rest (logged).
      await events.flush(10_000);
      await pod.cleanup();
      await server.close({ graceMs: 500 });
      await serving.catch(() => {});
      await events.close();
      await Deno.remove(socketPath(address)).catch(() => {});
      resolveDone();
    })();
  const service = new TaskService({ pod, events, logger, onShutdown: () => void shutdown() });
  ref.service = service;
  service.register(server);
  const listener = await listen(address);
  const serving = server.serve(listener);
  logger.info("shim serving", { address });
  logPhase(logger, "shim-start", shimStartMs(env));
  return { address, service, done, shutdown };
}
