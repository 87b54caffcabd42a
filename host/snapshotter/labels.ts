/**
 * Snapshot label names containerd passes to proxy snapshotters (spec/runtime.md §7.2), the one
 * this snapshotter adds to guest-pull layers, and containerd's label size rule.
 *
 * @module
 */
import { SnapshotError } from "./errors.ts";

/** Set by containerd's unpacker on every image layer Prepare: the chain id to commit as. */
export const LABEL_SNAPSHOT_REF = "containerd.io/snapshot.ref";
/** CRI (and nerdctl) pulls with `disable_snapshot_annotations = false`: the image reference. */
export const LABEL_CRI_IMAGE_REF = "containerd.io/snapshot/cri.image-ref";
/** CRI pulls: the digest of the layer being prepared. Its presence marks a guest-pull layer. */
export const LABEL_CRI_LAYER_DIGEST = "containerd.io/snapshot/cri.layer-digest";
/** Added by this snapshotter to layers it committed without content (like nydus-proxy-mode). */
export const LABEL_GUEST_PULL = "containerd.io/snapshot/coco.guest-pull";

/** containerd's limit on one label's key and value together. */
export const MAX_LABEL_BYTES = 4096;

const encoder = new TextEncoder();

/** Checks containerd's label rules: non-empty key, key + value at most 4096 bytes. */
export function validateLabels(labels: Record<string, string>, what: string): void {
  for (const [k, v] of Object.entries(labels)) {
    if (k === "") throw new SnapshotError("invalid_argument", `${what}: a label key is empty`);
    const size = encoder.encode(k).length + encoder.encode(v).length;
    if (size > MAX_LABEL_BYTES) {
      throw new SnapshotError(
        "invalid_argument",
        `${what}: label "${k.slice(0, 64)}" is ${size} bytes with its value, over the ` +
          `${MAX_LABEL_BYTES}-byte limit`,
      );
    }
  }
}
