/**
 * A promise-based grpc-js client of `containerd.services.snapshots.v1.Snapshots` on a unix
 * socket, speaking to this snapshotter or any other proxy snapshotter. Used by tests and the
 * benchmark; errors arrive as grpc-js `ServiceError`s with the status `code`.
 *
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { create, type MessageInitShape, snapshots } from "@coco/lib/proto";
import { snapshotsServiceDefinition } from "./service.ts";

type Init<S extends Parameters<typeof create>[0]> = MessageInitShape<S>;

const ClientCtor = grpc.makeGenericClientConstructor(snapshotsServiceDefinition, "Snapshots");

/** Client for the Snapshots service. */
export class SnapshotsClient {
  readonly #client: grpc.Client;

  constructor(socket: string) {
    this.#client = new ClientCtor(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  #unary<Res>(method: string, req: unknown): Promise<Res> {
    const fn = (this.#client as unknown as Record<
      string,
      (req: unknown, cb: (err: grpc.ServiceError | null, res: Res) => void) => void
    >)[method]!;
    return new Promise((resolve, reject) =>
      fn.call(this.#client, req, (err, res) => (err ? reject(err) : resolve(res)))
    );
  }

  prepare(
    req: Init<typeof snapshots.PrepareSnapshotRequestSchema>,
  ): Promise<snapshots.PrepareSnapshotResponse> {
    return this.#unary("Prepare", create(snapshots.PrepareSnapshotRequestSchema, req));
  }
  view(
    req: Init<typeof snapshots.ViewSnapshotRequestSchema>,
  ): Promise<snapshots.ViewSnapshotResponse> {
    return this.#unary("View", create(snapshots.ViewSnapshotRequestSchema, req));
  }
  mounts(req: Init<typeof snapshots.MountsRequestSchema>): Promise<snapshots.MountsResponse> {
    return this.#unary("Mounts", create(snapshots.MountsRequestSchema, req));
  }
  commit(req: Init<typeof snapshots.CommitSnapshotRequestSchema>): Promise<unknown> {
    return this.#unary("Commit", create(snapshots.CommitSnapshotRequestSchema, req));
  }
  remove(req: Init<typeof snapshots.RemoveSnapshotRequestSchema>): Promise<unknown> {
    return this.#unary("Remove", create(snapshots.RemoveSnapshotRequestSchema, req));
  }
  stat(
    req: Init<typeof snapshots.StatSnapshotRequestSchema>,
  ): Promise<snapshots.StatSnapshotResponse> {
    return this.#unary("Stat", create(snapshots.StatSnapshotRequestSchema, req));
  }
  update(
    req: Init<typeof snapshots.UpdateSnapshotRequestSchema>,
  ): Promise<snapshots.UpdateSnapshotResponse> {
    return this.#unary("Update", create(snapshots.UpdateSnapshotRequestSchema, req));
  }
  usage(req: Init<typeof snapshots.UsageRequestSchema>): Promise<snapshots.UsageResponse> {
    return this.#unary("Usage", create(snapshots.UsageRequestSchema, req));
  }
  cleanup(req: Init<typeof snapshots.CleanupRequestSchema> = {}): Promise<unknown> {
    return this.#unary("Cleanup", create(snapshots.CleanupRequestSchema, req));
  }

  /** Collects every `Info` of the List stream. */
  list(req: Init<typeof snapshots.ListSnapshotsRequestSchema> = {}): Promise<snapshots.Info[]> {
    const fn = (this.#client as unknown as Record<
      string,
      (req: unknown) => grpc.ClientReadableStream<snapshots.ListSnapshotsResponse>
    >)["List"]!;
    const stream = fn.call(this.#client, create(snapshots.ListSnapshotsRequestSchema, req));
    const out: snapshots.Info[] = [];
    return new Promise((resolve, reject) => {
      stream.on("data", (m: snapshots.ListSnapshotsResponse) => out.push(...m.info));
      stream.on("error", reject);
      stream.on("end", () => resolve(out));
    });
  }

  close(): void {
    this.#client.close();
  }
}
