/**
 * Persistent snapshot metadata under the snapshotter root: one JSON file (`metadata.json`)
 * holding every snapshot record and the next directory id, rewritten atomically (temporary file,
 * fsync, rename) after each change, and parsed strictly when the snapshotter starts.
 *
 * @module
 */
import { join } from "node:path";
import { obj, str } from "@coco/lib/json/fields";
import { SnapshotStoreError } from "./errors.ts";

/** Snapshot kinds (containerd `snapshots.Kind`). */
export type SnapshotKind = "view" | "active" | "committed";
/** How the snapshot's content is provided: host overlay directories, or pulled in the guest. */
export type SnapshotMode = "overlay" | "guest-pull";

/** One stored snapshot. `name` is containerd's key (active/view) or name (committed). */
export interface SnapshotRecord {
  /** Directory id under `<root>/snapshots/`; 0 for guest-pull layers, which have no directory. */
  id: number;
  name: string;
  /** Name of the parent snapshot, "" for none. */
  parent: string;
  kind: SnapshotKind;
  mode: SnapshotMode;
  labels: Record<string, string>;
  /** RFC 3339 times. */
  created: string;
  updated: string;
  /** Disk usage recorded at commit (committed overlay snapshots). */
  size?: number;
  inodes?: number;
}

interface StoreFile {
  version: 1;
  nextId: number;
  snapshots: SnapshotRecord[];
}

const KINDS: readonly SnapshotKind[] = ["view", "active", "committed"];
const MODES: readonly SnapshotMode[] = ["overlay", "guest-pull"];

function nonNegative(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${path} must be a non-negative integer`);
  }
  return value;
}

function parseRecord(value: unknown, path: string): SnapshotRecord {
  const o = obj(value, path);
  const kind = str(o.kind, `${path}.kind`);
  if (!(KINDS as readonly string[]).includes(kind)) throw new TypeError(`${path}.kind is unknown`);
  const mode = str(o.mode, `${path}.mode`);
  if (!(MODES as readonly string[]).includes(mode)) throw new TypeError(`${path}.mode is unknown`);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(obj(o.labels, `${path}.labels`))) {
    labels[k] = str(v, `${path}.labels.${k}`);
  }
  const record: SnapshotRecord = {
    id: nonNegative(o.id, `${path}.id`),
    name: str(o.name, `${path}.name`),
    parent: str(o.parent, `${path}.parent`),
    kind: kind as SnapshotKind,
    mode: mode as SnapshotMode,
    labels,
    created: str(o.created, `${path}.created`),
    updated: str(o.updated, `${path}.updated`),
  };
  if (o.size !== undefined) record.size = nonNegative(o.size, `${path}.size`);
  if (o.inodes !== undefined) record.inodes = nonNegative(o.inodes, `${path}.inodes`);
  return record;
}

/** Parses the metadata file's JSON; throws `TypeError` naming the bad field. */
export function parseStoreFile(input: unknown): StoreFile {
  const o = obj(input, "metadata");
  if (o.version !== 1) throw new TypeError("metadata.version must be 1");
  if (!Array.isArray(o.snapshots)) throw new TypeError("metadata.snapshots must be an array");
  const snapshots = o.snapshots.map((s, i) => parseRecord(s, `metadata.snapshots[${i}]`));
  const names = new Set<string>();
  for (const s of snapshots) {
    if (names.has(s.name)) throw new TypeError(`metadata.snapshots: "${s.name}" appears twice`);
    names.add(s.name);
  }
  for (const s of snapshots) {
    if (s.parent !== "" && !names.has(s.parent)) {
      throw new TypeError(`metadata.snapshots: parent "${s.parent}" of "${s.name}" is missing`);
    }
  }
  return { version: 1, nextId: nonNegative(o.nextId, "metadata.nextId"), snapshots };
}

/** In-memory view of the snapshots, saved to `<root>/metadata.json` by {@linkcode save}. */
export class SnapshotStore {
  readonly #file: string;
  readonly #records = new Map<string, SnapshotRecord>();
  #nextId = 1;

  private constructor(readonly root: string) {
    this.#file = join(root, "metadata.json");
  }

  /** Opens (or creates) the store under `root`. */
  static async open(root: string): Promise<SnapshotStore> {
    const store = new SnapshotStore(root);
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(store.#file);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new SnapshotStoreError("store_io", `Cannot read ${store.#file}`, { cause: err });
      }
    }
    if (text === undefined) return store;
    let parsed: StoreFile;
    try {
      parsed = parseStoreFile(JSON.parse(text));
    } catch (err) {
      throw new SnapshotStoreError(
        "store_corrupt",
        `Cannot load snapshot metadata ${store.#file}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    store.#nextId = Math.max(parsed.nextId, 1);
    for (const r of parsed.snapshots) store.#records.set(r.name, r);
    return store;
  }

  get(name: string): SnapshotRecord | undefined {
    return this.#records.get(name);
  }

  all(): SnapshotRecord[] {
    return [...this.#records.values()];
  }

  /** True when some snapshot names `name` as its parent. */
  hasChildren(name: string): boolean {
    for (const r of this.#records.values()) if (r.parent === name) return true;
    return false;
  }

  /** The parent chain, nearest first (not including `record`). */
  ancestors(record: SnapshotRecord): SnapshotRecord[] {
    const out: SnapshotRecord[] = [];
    for (let p = record.parent; p !== "";) {
      const r = this.#records.get(p);
      if (!r) break;
      out.push(r);
      p = r.parent;
    }
    return out;
  }

  /** Allocates a directory id. */
  allocateId(): number {
    return this.#nextId++;
  }

  put(record: SnapshotRecord): void {
    this.#records.set(record.name, record);
  }

  delete(name: string): void {
    this.#records.delete(name);
  }

  /** Writes the metadata file atomically. */
  async save(): Promise<void> {
    const body: StoreFile = { version: 1, nextId: this.#nextId, snapshots: this.all() };
    const tmp = `${this.#file}.tmp`;
    try {
      await Deno.writeTextFile(tmp, JSON.stringify(body), { mode: 0o600 });
      const f = await Deno.open(tmp, { read: true });
      try {
        await f.sync();
      } finally {
        f.close();
      }
      await Deno.rename(tmp, this.#file);
    } catch (err) {
      throw new SnapshotStoreError("store_io", `Cannot write ${this.#file}`, { cause: err });
    }
  }
}
