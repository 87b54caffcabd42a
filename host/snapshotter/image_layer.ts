/**
 * Which Prepares are image layers, and which of those are pulled in the guest. Layers are
 * recognised by the `containerd.io/snapshot.ref` label (containerd's unpacker, used by CRI) or,
 * without it, by the `extract-… sha256:…` key of containerd's `rootfs.ApplyLayers` (ctr 1.6
 * `images pull` / `import`), which fetches every blob first and cannot skip a layer.
 *
 * @module
 */
import { SnapshotError } from "./errors.ts";
import { LABEL_CRI_LAYER_DIGEST, LABEL_SNAPSHOT_REF } from "./labels.ts";
import type { SnapshotRecord } from "./store.ts";

/**
 * What to do with an image-layer Prepare that has no `cri.layer-digest` label: unpack it on the
 * host, pull it in the guest (possible only when containerd sent `containerd.io/snapshot.ref`),
 * or refuse it.
 */
export type UnlabelledLayerPolicy = "overlay" | "guest-pull" | "refuse";

/** Key of containerd's layer extraction (`extract-<unique> <chain id>`, after the namespace). */
const EXTRACT_KEY = /(^|\/)extract-\S+ sha256:[0-9a-f]{64}$/;

/**
 * The chain id to commit as an empty guest-pull layer, or undefined when the Prepare is an
 * ordinary snapshot (or a layer to unpack on the host). Throws `failed_precondition` for layers
 * the policy refuses or that cannot be skipped.
 */
export function imageLayerTarget(
  key: string,
  labels: Record<string, string>,
  parent: SnapshotRecord | undefined,
  unlabelled: UnlabelledLayerPolicy,
): string | undefined {
  const target = labels[LABEL_SNAPSHOT_REF];
  if (target === undefined && !EXTRACT_KEY.test(key)) return undefined;
  // A layer above a guest-pull layer can only be pulled in the guest as well.
  const policy = LABEL_CRI_LAYER_DIGEST in labels || parent?.mode === "guest-pull"
    ? "guest-pull"
    : unlabelled;
  if (policy === "overlay") return undefined;
  if (target === undefined) {
    throw new SnapshotError(
      "failed_precondition",
      `Prepare "${key}": containerd is unpacking an image layer without the ` +
        `${LABEL_SNAPSHOT_REF} label (ctr 1.6 images pull/import), which cannot be kept off ` +
        `the host; pull through CRI (kubelet, crictl) or run the snapshotter with ` +
        `--unlabelled-layers overlay`,
    );
  }
  if (policy === "refuse") {
    throw new SnapshotError(
      "failed_precondition",
      `Prepare "${key}": image layer ${target} has no ${LABEL_CRI_LAYER_DIGEST} label ` +
        `(containerd's CRI adds it only with disable_snapshot_annotations = false), and the ` +
        `snapshotter refuses to unpack such layers on the host (--unlabelled-layers refuse)`,
    );
  }
  return target;
}
