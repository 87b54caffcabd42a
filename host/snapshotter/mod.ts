/**
 * The proxy snapshotter of `coco-host` (`coco-host snapshotter`): a containerd
 * `proxy_plugins` snapshotter over gRPC that keeps confidential image layers off the host
 * (guest pull, nydus proxy-mode compatible) and behaves like the overlayfs snapshotter for
 * everything else. See README.md for the containerd configuration and the mount shape.
 *
 * The shim uses {@linkcode parseGuestPullMount} to recognise a guest-pull rootfs.
 *
 * @module
 */
export { snapshotterCommand } from "./cli.ts";
export { SnapshotsClient } from "./client.ts";
export { SnapshotError, type SnapshotErrorCode, SnapshotStoreError } from "./errors.ts";
export {
  DUMMY_IMAGE_REFERENCE,
  GUEST_PULL_MOUNT_TYPE,
  isNydusRootfsType,
  KATA_VOLUME_OPTION,
  type KataVirtualVolume,
  KataVolumeError,
  type Mount,
  parseGuestPullMount,
  parseKataVirtualVolume,
} from "./kata_volume.ts";
export {
  LABEL_CRI_IMAGE_REF,
  LABEL_CRI_LAYER_DIGEST,
  LABEL_GUEST_PULL,
  LABEL_SNAPSHOT_REF,
} from "./labels.ts";
export { type SnapshotterServer, startSnapshotterServer } from "./server.ts";
export {
  type SnapshotInfo,
  Snapshotter,
  type SnapshotterOptions,
  type UnlabelledLayerPolicy,
} from "./snapshotter.ts";
