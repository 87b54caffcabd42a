/**
 * The snapshotter's semantics, independent of gRPC: containerd's snapshot model (active, view,
 * committed; parents; labels) over a persistent {@linkcode SnapshotStore}, with two modes.
 *
 * - Guest pull (nydus proxy mode, spec/runtime.md §7.3): an image-layer Prepare (label
 *   `containerd.io/snapshot.ref`) carrying the CRI labels is committed at once under the target
 *   name with no content and answered ALREADY_EXISTS, so containerd neither downloads nor
 *   unpacks the layer. A container snapshot on top of such a chain returns one
 *   `fuse.nydus-overlayfs` mount carrying the Kata `image_guest_pull` volume.
 * - Overlay: everything else behaves like containerd's overlayfs snapshotter.
 *
 * Layer Prepares without CRI labels (ctr 1.6 pulls) follow {@linkcode UnlabelledLayerPolicy}.
 *
 * @module
 */
import type { Logger } from "@coco/lib/log";
import { nullLogger } from "@coco/lib/log";
import { diskUsage } from "./_disk_usage.ts";
import { SnapshotError } from "./errors.ts";
import { compileFilters } from "./filters.ts";
import type { Mount } from "./kata_volume.ts";
import { imageLayerTarget, type UnlabelledLayerPolicy } from "./image_layer.ts";
import { LABEL_GUEST_PULL, validateLabels } from "./labels.ts";
import { mountsFor, RootLayout } from "./mounts.ts";
import { type SnapshotKind, type SnapshotRecord, SnapshotStore } from "./store.ts";

export type { UnlabelledLayerPolicy } from "./image_layer.ts";

/** Options of {@linkcode Snapshotter.open}. */
export interface SnapshotterOptions {
  root: string;
  /** Default "overlay": unpack on the host like containerd's overlayfs snapshotter. */
  unlabelledLayers?: UnlabelledLayerPolicy;
  logger?: Logger;
  now?: () => Date;
}

/** Snapshot information as containerd's `snapshots.Info`. */
export interface SnapshotInfo {
  name: string;
  parent: string;
  kind: SnapshotKind;
  labels: Record<string, string>;
  created: Date;
  updated: Date;
}

const err = (code: ConstructorParameters<typeof SnapshotError>[0], msg: string) =>
  new SnapshotError(code, msg);

function toInfo(r: SnapshotRecord): SnapshotInfo {
  return {
    name: r.name,
    parent: r.parent,
    kind: r.kind,
    labels: { ...r.labels },
    created: new Date(r.created),
    updated: new Date(r.updated),
  };
}

/** A containerd snapshotter whose image layers can stay out of the host (guest pull). */
export class Snapshotter {
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly layout: RootLayout,
    readonly store: SnapshotStore,
    readonly unlabelledLayers: UnlabelledLayerPolicy,
    readonly logger: Logger,
    readonly now: () => Date,
  ) {}

  /** Opens the snapshotter root (created if missing) and loads its metadata. */
  static async open(options: SnapshotterOptions): Promise<Snapshotter> {
    const layout = new RootLayout(options.root);
    await Deno.mkdir(layout.snapshots, { recursive: true, mode: 0o700 });
    await Deno.mkdir(layout.empty, { recursive: true, mode: 0o755 });
    const store = await SnapshotStore.open(options.root);
    return new Snapshotter(
      layout,
      store,
      options.unlabelledLayers ?? "overlay",
      options.logger ?? nullLogger,
      options.now ?? (() => new Date()),
    );
  }

  /** Runs mutations one at a time so the store and directories never interleave. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #get(key: string, op: string): SnapshotRecord {
    if (key === "") throw err("invalid_argument", `${op}: the snapshot key is empty`);
    const r = this.store.get(key);
    if (!r) throw err("not_found", `${op}: snapshot "${key}" does not exist`);
    return r;
  }

  /** Creates an active snapshot; image layers with CRI labels become guest-pull layers. */
  prepare(key: string, parent: string, labels: Record<string, string>): Promise<Mount[]> {
    return this.#serial(() => this.#create("active", key, parent, labels));
  }

  /** Creates a read-only view of `parent`. */
  view(key: string, parent: string, labels: Record<string, string>): Promise<Mount[]> {
    return this.#serial(() => this.#create("view", key, parent, labels));
  }

  async #create(
    kind: SnapshotKind,
    key: string,
    parent: string,
    labels: Record<string, string>,
  ): Promise<Mount[]> {
    const op = kind === "active" ? "Prepare" : "View";
    if (key === "") throw err("invalid_argument", `${op}: the snapshot key is empty`);
    validateLabels(labels, `${op} "${key}"`);
    if (this.store.get(key)) throw err("already_exists", `${op}: snapshot "${key}" already exists`);
    let parentRecord: SnapshotRecord | undefined;
    if (parent !== "") {
      parentRecord = this.store.get(parent);
      if (!parentRecord) {
        throw err("not_found", `${op} "${key}": parent "${parent}" does not exist`);
      }
      if (parentRecord.kind !== "committed") {
        throw err("invalid_argument", `${op} "${key}": parent "${parent}" is not committed`);
      }
    }
    if (kind === "active") {
      const target = imageLayerTarget(key, labels, parentRecord, this.unlabelledLayers);
      if (target !== undefined) await this.#commitGuestPullLayer(target, parent, labels);
    }
    const now = this.now().toISOString();
    const record: SnapshotRecord = {
      id: this.store.allocateId(),
      name: key,
      parent,
      kind,
      mode: parentRecord?.mode ?? "overlay",
      labels: { ...labels },
      created: now,
      updated: now,
    };
    await Deno.mkdir(this.layout.fs(record.id), { recursive: true, mode: 0o755 });
    if (kind === "active") await Deno.mkdir(this.layout.work(record.id), { mode: 0o711 });
    this.store.put(record);
    await this.store.save();
    return mountsFor(this.layout, record, this.store.ancestors(record));
  }

  /** Commits an empty layer under `target` and answers ALREADY_EXISTS, as nydus proxy mode does. */
  async #commitGuestPullLayer(
    target: string,
    parent: string,
    labels: Record<string, string>,
  ): Promise<never> {
    const existing = this.store.get(target);
    if (existing && existing.kind !== "committed") {
      throw err("failed_precondition", `Prepare: target "${target}" exists and is not committed`);
    }
    if (!existing) {
      const now = this.now().toISOString();
      this.store.put({
        id: 0,
        name: target,
        parent,
        kind: "committed",
        mode: "guest-pull",
        labels: { ...labels, [LABEL_GUEST_PULL]: "true" },
        created: now,
        updated: now,
        size: 0,
        inodes: 0,
      });
      await this.store.save();
      this.logger.debug("guest-pull layer committed without content", { target, parent });
    }
    throw err("already_exists", `snapshot "${target}" already exists (pulled in the guest)`);
  }

  /** Mounts of an active or view snapshot. */
  mounts(key: string): Promise<Mount[]> {
    const r = this.#get(key, "Mounts");
    if (r.kind === "committed") {
      throw err(
        "failed_precondition",
        `Mounts: snapshot "${key}" is committed, not active or view`,
      );
    }
    return Promise.resolve(mountsFor(this.layout, r, this.store.ancestors(r)));
  }

  /** Turns active snapshot `key` into committed snapshot `name`. */
  commit(name: string, key: string, labels: Record<string, string>): Promise<void> {
    return this.#serial(async () => {
      if (name === "") throw err("invalid_argument", `Commit "${key}": the name is empty`);
      validateLabels(labels, `Commit "${name}"`);
      const r = this.#get(key, "Commit");
      if (r.kind !== "active") {
        throw err("failed_precondition", `Commit: snapshot "${key}" is ${r.kind}, not active`);
      }
      if (this.store.get(name)) throw err("already_exists", `Commit: "${name}" already exists`);
      const usage = r.mode === "overlay" ? await diskUsage(this.layout.fs(r.id)) : undefined;
      const now = this.now().toISOString();
      this.store.delete(key);
      this.store.put({
        ...r,
        name,
        kind: "committed",
        labels: { ...labels },
        updated: now,
        size: usage?.size ?? 0,
        inodes: usage?.inodes ?? 0,
      });
      await this.store.save();
    });
  }

  /** Removes a snapshot without children, and its directory. */
  remove(key: string): Promise<void> {
    return this.#serial(async () => {
      const r = this.#get(key, "Remove");
      if (this.store.hasChildren(key)) {
        throw err("failed_precondition", `Remove: snapshot "${key}" has children`);
      }
      this.store.delete(key);
      await this.store.save();
      if (r.id !== 0) await Deno.remove(this.layout.dir(r.id), { recursive: true }).catch(() => {});
    });
  }

  /** Information on one snapshot. */
  stat(key: string): SnapshotInfo {
    return toInfo(this.#get(key, "Stat"));
  }

  /**
   * Updates labels. `paths` are field-mask paths: none or `labels` replaces all labels,
   * `labels.<key>` sets or (when absent from `labels`) deletes one. Other fields are immutable.
   */
  update(name: string, labels: Record<string, string>, paths: string[]): Promise<SnapshotInfo> {
    return this.#serial(async () => {
      const r = this.#get(name, "Update");
      validateLabels(labels, `Update "${name}"`);
      let next = { ...r.labels };
      for (const p of paths.length === 0 ? ["labels"] : paths) {
        if (p === "labels") next = { ...labels };
        else if (p.startsWith("labels.") && p.length > "labels.".length) {
          const k = p.slice("labels.".length);
          if (k in labels) next[k] = labels[k]!;
          else delete next[k];
        } else {
          throw err("invalid_argument", `Update "${name}": field "${p}" cannot be updated`);
        }
      }
      validateLabels(next, `Update "${name}"`);
      const updated = { ...r, labels: next, updated: this.now().toISOString() };
      this.store.put(updated);
      await this.store.save();
      return toInfo(updated);
    });
  }

  /** Snapshots matching any of the containerd filters (all when none). */
  list(filters: readonly string[]): SnapshotInfo[] {
    const match = compileFilters(filters);
    return this.store.all().filter((r) =>
      match((path) => {
        const [head, ...rest] = path;
        if (head === "labels") return rest.length ? r.labels[rest.join(".")] : undefined;
        if (rest.length) return undefined;
        if (head === "name") return r.name;
        if (head === "parent") return r.parent;
        if (head === "kind") return r.kind;
        return undefined;
      })
    ).map(toInfo);
  }

  /** Disk usage: recorded at commit, measured now for active and view snapshots. */
  async usage(key: string): Promise<{ size: number; inodes: number }> {
    const r = this.#get(key, "Usage");
    if (r.kind === "committed" || r.id === 0) return { size: r.size ?? 0, inodes: r.inodes ?? 0 };
    return await diskUsage(this.layout.fs(r.id));
  }

  /** Removes snapshot directories no record refers to (left by crashes or failed Prepares). */
  cleanup(): Promise<string[]> {
    return this.#serial(async () => {
      const live = new Set(this.store.all().map((r) => String(r.id)));
      const removed: string[] = [];
      for await (const e of Deno.readDir(this.layout.snapshots)) {
        if (live.has(e.name)) continue;
        await Deno.remove(`${this.layout.snapshots}/${e.name}`, { recursive: true });
        removed.push(e.name);
      }
      return removed;
    });
  }
}
