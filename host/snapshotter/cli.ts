/**
 * `coco-host snapshotter --socket PATH --root DIR`: runs the proxy snapshotter until SIGTERM or
 * SIGINT. Prints `snapshotter listening on <socket>` on stdout once containerd can connect.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { createLogger, parseLogLevel } from "@coco/lib/log";
import { startSnapshotterServer } from "./server.ts";
import type { UnlabelledLayerPolicy } from "./snapshotter.ts";

const POLICIES: UnlabelledLayerPolicy[] = ["overlay", "guest-pull", "refuse"];

/** The `snapshotter` subcommand. */
export function snapshotterCommand() {
  return new Command("snapshotter")
    .description(
      "containerd proxy snapshotter (containerd.services.snapshots.v1 over gRPC) for guest pull",
    )
    .requiredOption("--socket <path>", "unix socket containerd's proxy_plugins address names")
    .requiredOption("--root <dir>", "directory for snapshot metadata and overlay directories")
    .addOption(
      new Option(
        "--unlabelled-layers <policy>",
        "image layers without CRI labels (ctr 1.6 pulls): unpack on the host, pull in the guest, or refuse",
      ).choices(POLICIES).default("overlay" as UnlabelledLayerPolicy),
    )
    .option("--log-level <level>", "debug, info, warn or error", "info")
    .action(async (o) => {
      const logger = createLogger({ level: parseLogLevel(o.logLevel) });
      const server = await startSnapshotterServer({
        socket: o.socket,
        root: o.root,
        unlabelledLayers: o.unlabelledLayers,
        logger,
      });
      console.log(`snapshotter listening on ${server.socket}`);
      const stopped = Promise.withResolvers<void>();
      const stop = () => stopped.resolve();
      Deno.addSignalListener("SIGTERM", stop);
      Deno.addSignalListener("SIGINT", stop);
      await stopped.promise;
      Deno.removeSignalListener("SIGTERM", stop);
      Deno.removeSignalListener("SIGINT", stop);
      await server.close();
      logger.info("snapshotter stopped");
    });
}
