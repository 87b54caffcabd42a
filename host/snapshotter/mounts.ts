/**
 * The mounts a snapshot hands to containerd. Overlay-mode snapshots follow containerd's
 * overlayfs snapshotter (bind mount for a single directory, overlay with `lowerdir` nearest
 * parent first otherwise); guest-pull snapshots get one nydus-proxy-style
 * `fuse.nydus-overlayfs` mount carrying the Kata virtual volume (see `kata_volume.ts`).
 *
 * @module
 */
import { join } from "node:path";
import { guestPullMount, type Mount } from "./kata_volume.ts";
import { LABEL_GUEST_PULL } from "./labels.ts";
import type { SnapshotRecord } from "./store.ts";

/** Directory layout under the snapshotter root. */
export class RootLayout {
  constructor(readonly root: string) {}
  /** `<root>/snapshots`: one directory per overlay snapshot (and per guest-pull container). */
  get snapshots(): string {
    return join(this.root, "snapshots");
  }
  /** An always-empty directory used as `lowerdir` of guest-pull mounts. */
  get empty(): string {
    return join(this.root, "empty");
  }
  dir(id: number): string {
    return join(this.snapshots, String(id));
  }
  fs(id: number): string {
    return join(this.dir(id), "fs");
  }
  work(id: number): string {
    return join(this.dir(id), "work");
  }
}

/** Metadata for the guest: the labels of the nearest guest-pull image layer, then the snapshot's. */
export function guestPullMetadata(
  record: SnapshotRecord,
  ancestors: SnapshotRecord[],
): Record<string, string> {
  const layer = ancestors.find((a) => a.labels[LABEL_GUEST_PULL] === "true");
  return { ...(layer?.labels ?? {}), ...record.labels };
}

/** Mounts for an active or view snapshot; `ancestors` nearest first. */
export function mountsFor(
  layout: RootLayout,
  record: SnapshotRecord,
  ancestors: SnapshotRecord[],
): Mount[] {
  const active = record.kind === "active";
  if (record.mode === "guest-pull") {
    const init = { metadata: guestPullMetadata(record, ancestors), lowerdir: layout.empty };
    return [
      guestPullMount(
        active
          ? { ...init, upper: { upperdir: layout.fs(record.id), workdir: layout.work(record.id) } }
          : init,
      ),
    ];
  }
  const lowers = ancestors.map((a) => layout.fs(a.id));
  if (lowers.length === 0) {
    return [{
      type: "bind",
      source: layout.fs(record.id),
      options: [active ? "rw" : "ro", "rbind"],
    }];
  }
  if (!active && lowers.length === 1) {
    return [{ type: "bind", source: lowers[0]!, options: ["ro", "rbind"] }];
  }
  const options = active
    ? [`workdir=${layout.work(record.id)}`, `upperdir=${layout.fs(record.id)}`]
    : [];
  options.push(`lowerdir=${lowers.join(":")}`);
  return [{ type: "overlay", source: "overlay", options }];
}
