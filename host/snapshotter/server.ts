/**
 * Starts the proxy snapshotter: a grpc-js server on a unix socket serving
 * `containerd.services.snapshots.v1.Snapshots` from a {@linkcode Snapshotter}.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { Logger } from "@coco/lib/log";
import { nullLogger } from "@coco/lib/log";
import { snapshotsHandlers, snapshotsServiceDefinition } from "./service.ts";
import { Snapshotter, type UnlabelledLayerPolicy } from "./snapshotter.ts";

/** Options of {@linkcode startSnapshotterServer}. */
export interface SnapshotterServerOptions {
  /** Unix socket path; a stale socket file there is replaced. */
  socket: string;
  /** Root directory for metadata and overlay directories. */
  root: string;
  unlabelledLayers?: UnlabelledLayerPolicy;
  logger?: Logger;
}

/** A running snapshotter server. */
export interface SnapshotterServer {
  snapshotter: Snapshotter;
  socket: string;
  /** Stops accepting calls, waits for running ones, removes the socket. */
  close(): Promise<void>;
}

/** Opens the store and serves it on the socket. */
export async function startSnapshotterServer(
  options: SnapshotterServerOptions,
): Promise<SnapshotterServer> {
  const logger = options.logger ?? nullLogger;
  const snapshotter = await Snapshotter.open({
    root: options.root,
    logger,
    ...(options.unlabelledLayers ? { unlabelledLayers: options.unlabelledLayers } : {}),
  });
  await Deno.remove(options.socket).catch(() => {});
  const server = new grpc.Server();
  server.addService(snapshotsServiceDefinition, snapshotsHandlers(snapshotter, logger));
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(
      `unix://${options.socket}`,
      grpc.ServerCredentials.createInsecure(),
      (err) => (err ? reject(err) : resolve()),
    )
  );
  return {
    snapshotter,
    socket: options.socket,
    async close() {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await Deno.remove(options.socket).catch(() => {});
    },
  };
}
