/**
 * `containerd.services.snapshots.v1.Snapshots` over grpc-js: converts protobuf requests to
 * {@linkcode Snapshotter} calls and results back, and maps errors to gRPC status codes in this
 * one place (NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, INVALID_ARGUMENT, else INTERNAL).
 * Failures other than ALREADY_EXISTS and NOT_FOUND (containerd's normal flow) are logged here.
 *
 * @module
 */
import { EmptySchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { errorMessage } from "@coco/lib/errors";
import type { Logger } from "@coco/lib/log";
import { create, snapshots } from "@coco/lib/proto";
import { grpcServiceDefinition } from "./_grpc.ts";
import { SnapshotError, type SnapshotErrorCode } from "./errors.ts";
import type { Mount } from "./kata_volume.ts";
import type { SnapshotInfo, Snapshotter } from "./snapshotter.ts";
import type { SnapshotKind } from "./store.ts";

/** The grpc-js definition of the Snapshots service (shared by server, tests and bench client). */
export const snapshotsServiceDefinition: grpc.ServiceDefinition = grpcServiceDefinition(
  snapshots.Snapshots,
);

const STATUS: Record<SnapshotErrorCode, grpc.status> = {
  not_found: grpc.status.NOT_FOUND,
  already_exists: grpc.status.ALREADY_EXISTS,
  failed_precondition: grpc.status.FAILED_PRECONDITION,
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  internal: grpc.status.INTERNAL,
};

const KIND: Record<SnapshotKind, snapshots.Kind> = {
  view: snapshots.Kind.VIEW,
  active: snapshots.Kind.ACTIVE,
  committed: snapshots.Kind.COMMITTED,
};

/** A snapshot `Info` message from {@linkcode SnapshotInfo}. */
export function infoMessage(info: SnapshotInfo): snapshots.Info {
  return create(snapshots.InfoSchema, {
    name: info.name,
    parent: info.parent,
    kind: KIND[info.kind],
    createdAt: timestampFromDate(info.created),
    updatedAt: timestampFromDate(info.updated),
    labels: info.labels,
  });
}

const mountInit = (m: Mount) => ({
  type: m.type,
  source: m.source,
  target: m.target ?? "",
  options: m.options,
});

type Unary = (call: { request: unknown }, cb: grpc.sendUnaryData<unknown>) => void;

/** Handlers for `server.addService(snapshotsServiceDefinition, …)`. */
export function snapshotsHandlers(
  sn: Snapshotter,
  logger: Logger,
): grpc.UntypedServiceImplementation {
  const fail = (method: string, err: unknown): Partial<grpc.StatusObject> => {
    const code = err instanceof SnapshotError ? STATUS[err.code] : grpc.status.INTERNAL;
    if (code !== grpc.status.ALREADY_EXISTS && code !== grpc.status.NOT_FOUND) {
      logger.warn("snapshot request failed", { method, error: err });
    }
    return { code, details: errorMessage(err) };
  };
  const unary =
    <Req>(method: string, fn: (req: Req) => Promise<unknown> | unknown): Unary => (call, cb) => {
      Promise.resolve().then(() => fn(call.request as Req)).then(
        (res) => cb(null, res),
        (err) => cb(fail(method, err), null),
      );
    };
  const empty = () => create(EmptySchema);
  return {
    Prepare: unary<snapshots.PrepareSnapshotRequest>(
      "Prepare",
      async (r) =>
        create(snapshots.PrepareSnapshotResponseSchema, {
          mounts: (await sn.prepare(r.key, r.parent, r.labels)).map(mountInit),
        }),
    ),
    View: unary<snapshots.ViewSnapshotRequest>(
      "View",
      async (r) =>
        create(snapshots.ViewSnapshotResponseSchema, {
          mounts: (await sn.view(r.key, r.parent, r.labels)).map(mountInit),
        }),
    ),
    Mounts: unary<snapshots.MountsRequest>(
      "Mounts",
      async (r) =>
        create(snapshots.MountsResponseSchema, { mounts: (await sn.mounts(r.key)).map(mountInit) }),
    ),
    Commit: unary<snapshots.CommitSnapshotRequest>("Commit", async (r) => {
      if (r.parent !== "") {
        throw new SnapshotError(
          "invalid_argument",
          `Commit "${r.name}": rebasing onto a parent is not supported`,
        );
      }
      await sn.commit(r.name, r.key, r.labels);
      return empty();
    }),
    Remove: unary<snapshots.RemoveSnapshotRequest>("Remove", async (r) => {
      await sn.remove(r.key);
      return empty();
    }),
    Stat: unary<snapshots.StatSnapshotRequest>(
      "Stat",
      (r) => create(snapshots.StatSnapshotResponseSchema, { info: infoMessage(sn.stat(r.key)) }),
    ),
    Update: unary<snapshots.UpdateSnapshotRequest>("Update", async (r) => {
      if (!r.info) throw new SnapshotError("invalid_argument", "Update: info is missing");
      const info = await sn.update(r.info.name, r.info.labels, r.updateMask?.paths ?? []);
      return create(snapshots.UpdateSnapshotResponseSchema, { info: infoMessage(info) });
    }),
    List: (call: grpc.ServerWritableStream<snapshots.ListSnapshotsRequest, unknown>) => {
      try {
        const infos = sn.list(call.request.filters).map(infoMessage);
        // containerd batches List replies; 100 per message like its own service.
        for (let i = 0; i < infos.length; i += 100) {
          call.write(
            create(snapshots.ListSnapshotsResponseSchema, { info: infos.slice(i, i + 100) }),
          );
        }
        call.end();
      } catch (err) {
        call.emit("error", fail("List", err));
      }
    },
    Usage: unary<snapshots.UsageRequest>("Usage", async (r) => {
      const u = await sn.usage(r.key);
      return create(snapshots.UsageResponseSchema, {
        size: BigInt(u.size),
        inodes: BigInt(u.inodes),
      });
    }),
    Cleanup: unary<snapshots.CleanupRequest>("Cleanup", async () => {
      const removed = await sn.cleanup();
      if (removed.length) logger.info("removed unreferenced snapshot directories", { removed });
      return empty();
    }),
  };
}
