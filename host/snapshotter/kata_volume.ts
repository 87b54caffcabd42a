/**
 * The Kata "virtual volume" a guest-pull rootfs mount carries (spec/runtime.md §7.3, §7.5): a
 * mount of type `fuse.nydus-overlayfs` whose options include
 * `io.katacontainers.volume=<base64(JSON KataVirtualVolume)>`. The snapshotter builds it; the
 * shim parses it back with {@linkcode parseGuestPullMount} and asks the agent for an
 * `image_guest_pull` storage instead of mounting anything on the host.
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";
import { obj, optStr, str, strArray } from "@coco/lib/json/fields";

/** Mount option prefix that carries the base64 JSON volume. */
export const KATA_VOLUME_OPTION = "io.katacontainers.volume=";
/** Mount type nydus uses for guest pull; Kata matches `fuse.` + basename `nydus-overlayfs*`. */
export const GUEST_PULL_MOUNT_TYPE = "fuse.nydus-overlayfs";
/** Source nydus puts in the volume when the image reference is unknown. */
export const DUMMY_IMAGE_REFERENCE = "dummy-image-reference";

/** `volume_type` values Kata knows (both the Go and Rust runtimes). */
export const VOLUME_TYPES = [
  "direct_block",
  "image_raw_block",
  "layer_raw_block",
  "image_nydus_block",
  "layer_nydus_block",
  "image_nydus_fs",
  "layer_nydus_fs",
  "image_guest_pull",
] as const;
export type VolumeType = typeof VOLUME_TYPES[number];

/** Kata's `KataVirtualVolume` JSON, wire names kept. Only the parts guest pull uses are typed deeply. */
export interface KataVirtualVolume {
  volume_type: VolumeType;
  source?: string;
  fs_type?: string;
  options?: string[];
  image_pull?: { metadata: Record<string, string> };
  direct_volume?: { metadata: Record<string, string> };
}

/** A containerd mount as the snapshotter returns it (containerd.types.Mount). */
export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

/** The mount or its volume is not a valid Kata virtual volume. */
export class KataVolumeError extends CodedError<"invalid_kata_volume"> {}

const fail = (why: string, cause?: unknown): never => {
  throw new KataVolumeError(
    "invalid_kata_volume",
    `Cannot read the io.katacontainers.volume mount option: ${why}`,
    cause === undefined ? {} : { cause },
  );
};

function stringMap(value: unknown, path: string): Record<string, string> {
  const o = obj(value, path);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) out[k] = str(v, `${path}.${k}`);
  return out;
}

function metadataOf(value: unknown, path: string): { metadata: Record<string, string> } {
  const o = obj(value, path);
  return { metadata: stringMap(o.metadata, `${path}.metadata`) };
}

/** Parses the JSON of a Kata virtual volume; `image_guest_pull` needs `image_pull.metadata`. */
export function parseKataVirtualVolume(input: unknown): KataVirtualVolume {
  try {
    const o = obj(input, "volume");
    const type = str(o.volume_type, "volume.volume_type");
    if (!(VOLUME_TYPES as readonly string[]).includes(type)) {
      throw new TypeError(`volume.volume_type "${type}" is not one of ${VOLUME_TYPES.join(", ")}`);
    }
    const volume: KataVirtualVolume = { volume_type: type as VolumeType };
    const source = optStr(o.source, "volume.source");
    if (source !== undefined) volume.source = source;
    const fsType = optStr(o.fs_type, "volume.fs_type");
    if (fsType !== undefined) volume.fs_type = fsType;
    if (o.options !== undefined && o.options !== null) {
      volume.options = strArray(o.options, "volume.options");
    }
    if (o.image_pull !== undefined && o.image_pull !== null) {
      volume.image_pull = metadataOf(o.image_pull, "volume.image_pull");
    }
    if (o.direct_volume !== undefined && o.direct_volume !== null) {
      volume.direct_volume = metadataOf(o.direct_volume, "volume.direct_volume");
    }
    if (type === "image_guest_pull" && volume.image_pull === undefined) {
      throw new TypeError("volume.image_pull is required for image_guest_pull");
    }
    return volume;
  } catch (err) {
    if (err instanceof KataVolumeError) throw err;
    return fail((err as Error).message, err);
  }
}

/** Encodes a volume as the full mount option (standard base64 with padding). */
export function encodeKataVolumeOption(volume: KataVirtualVolume): string {
  const json = new TextEncoder().encode(JSON.stringify(volume));
  return KATA_VOLUME_OPTION + json.toBase64();
}

/** Decodes the value after `io.katacontainers.volume=`. */
export function decodeKataVolumeOption(value: string): KataVirtualVolume {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.fromBase64(value));
  } catch (err) {
    return fail("the value is not base64 of UTF-8 text", err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail("the decoded value is not JSON", err);
  }
  return parseKataVirtualVolume(json);
}

/** Kata's `IsNydusRootFSType`: `fuse.` followed by a path whose basename starts `nydus-overlayfs`. */
export function isNydusRootfsType(type: string): boolean {
  if (!type.startsWith("fuse.")) return false;
  const rest = type.slice("fuse.".length);
  return (rest.split("/").pop() ?? "").startsWith("nydus-overlayfs");
}

/** What the snapshotter puts into a guest-pull mount. */
export interface GuestPullMountInit {
  /** Labels of the image's top layer (cri.image-ref, manifest digest, …) merged with the key's. */
  metadata: Record<string, string>;
  lowerdir: string;
  /** Present for active snapshots, absent for views. */
  upper?: { upperdir: string; workdir: string };
}

/** Builds the single `fuse.nydus-overlayfs` mount of a guest-pull snapshot (nydus proxy shape). */
export function guestPullMount(init: GuestPullMountInit): Mount {
  const metadata = { ...init.metadata };
  const volume: KataVirtualVolume = {
    volume_type: "image_guest_pull",
    source: metadata["containerd.io/snapshot/cri.image-ref"] ?? DUMMY_IMAGE_REFERENCE,
    options: Object.entries(metadata).map(([k, v]) => `${k}=${v}`),
    image_pull: { metadata },
  };
  const options = init.upper
    ? [`workdir=${init.upper.workdir}`, `upperdir=${init.upper.upperdir}`]
    : [];
  options.push(`lowerdir=${init.lowerdir}`, encodeKataVolumeOption(volume));
  return { type: GUEST_PULL_MOUNT_TYPE, source: "overlay", options };
}

/**
 * For the shim: the guest-pull volume of a rootfs mount, or undefined when the mount is not a
 * nydus-style guest-pull mount (then the rootfs is an ordinary host mount). Throws
 * {@linkcode KataVolumeError} when the mount claims to be one but its volume is malformed.
 */
export function parseGuestPullMount(mount: Mount): KataVirtualVolume | undefined {
  if (!isNydusRootfsType(mount.type)) return undefined;
  const option = mount.options.find((o) => o.startsWith(KATA_VOLUME_OPTION));
  if (option === undefined) return undefined;
  const volume = decodeKataVolumeOption(option.slice(KATA_VOLUME_OPTION.length));
  if (volume.volume_type !== "image_guest_pull") return undefined;
  return volume;
}
