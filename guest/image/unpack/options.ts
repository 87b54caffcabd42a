/**
 * Options of {@link unpackLayer} and their resolution into a complete, validated form.
 *
 * @module
 */
import { UnpackError } from "./errors.ts";
import { DEFAULT_LIMITS, type TarLimits } from "./tar_reader.ts";

/** One range of an id mapping, as in the OCI runtime spec (`linux.uidMappings`). */
export interface IdMapping {
  /** First id inside the container (as written in the layer). */
  containerID: number;
  /** First id on the host it maps to. */
  hostID: number;
  /** Number of ids in the range. */
  size: number;
}

/** How {@link unpackLayer} writes a layer. */
export interface UnpackOptions {
  /**
   * `"layer"` (default): `targetDir` is an empty overlayfs layer directory; whiteouts become
   * char 0/0 devices and opaque markers `trusted.overlay.opaque=y`. `"merged"`: `targetDir`
   * holds the earlier layers' files; whiteouts and opaque markers delete from it.
   */
  mode?: "layer" | "merged";
  /** Create char/block device entries (default true, as upstream); false rejects them. */
  allowDevices?: boolean;
  /** Apply the entries' uid/gid with lchown (default true; needs root for foreign ids). */
  ownership?: boolean;
  /** Map layer uids (OCI `uidMappings`); an id outside every range is an error. */
  uidMappings?: IdMapping[];
  /** Map layer gids (OCI `gidMappings`). */
  gidMappings?: IdMapping[];
  /** Count and skip xattrs the filesystem does not support (default false: fail). */
  ignoreUnsupportedXattrs?: boolean;
  /** Bounds on PAX and long-name records. */
  limits?: Partial<TarLimits>;
}

/** {@link UnpackOptions} with every default filled in. */
export interface ResolvedOptions {
  mode: "layer" | "merged";
  allowDevices: boolean;
  ownership: boolean;
  ignoreUnsupportedXattrs: boolean;
  limits: TarLimits;
  mapUid(id: number, entry: string): number;
  mapGid(id: number, entry: string): number;
}

function mapper(
  ranges: IdMapping[] | undefined,
  kind: "uid" | "gid",
): (id: number, entry: string) => number {
  if (!ranges) return (id) => id;
  for (const r of ranges) {
    for (const v of [r.containerID, r.hostID, r.size]) {
      if (!Number.isSafeInteger(v) || v < 0 || v > 0xffffffff) {
        throw new UnpackError(
          "invalid_options",
          undefined,
          `invalid ${kind} mapping ${JSON.stringify(r)}`,
        );
      }
    }
  }
  return (id, entry) => {
    for (const r of ranges) {
      if (id >= r.containerID && id < r.containerID + r.size) return r.hostID + id - r.containerID;
    }
    throw new UnpackError("id_unmapped", entry, `${kind} ${id} is outside the ${kind} mapping`);
  };
}

/** Fills in defaults and validates mappings and limits. */
export function resolveOptions(o: UnpackOptions = {}): ResolvedOptions {
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v < 512) {
      throw new UnpackError("invalid_options", undefined, `limit ${k} must be an integer ≥ 512`);
    }
  }
  return {
    mode: o.mode ?? "layer",
    allowDevices: o.allowDevices ?? true,
    ownership: o.ownership ?? true,
    ignoreUnsupportedXattrs: o.ignoreUnsupportedXattrs ?? false,
    limits,
    mapUid: mapper(o.uidMappings, "uid"),
    mapGid: mapper(o.gidMappings, "gid"),
  };
}
