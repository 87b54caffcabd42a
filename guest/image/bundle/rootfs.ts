/**
 * The container rootfs over the stored layers: an overlayfs mount (lowerdir = layers top-most
 * first, a fresh upper/work pair under the work dir), or a merged copy where mounting is not
 * possible (no privilege, no overlay, option string too long).
 *
 * @module
 */
import { mount, SysError } from "@coco/lib/sys";
import { ImageError } from "../errors.ts";
import { mergeLayers } from "./merge.ts";

/** How to build the rootfs. `auto` tries overlay, then copies. */
export type RootfsMode = "overlay" | "copy" | "auto";

/** Longest mount option string the kernel takes (one page). */
const MAX_MOUNT_DATA = 4095;

/** Options of {@link createRootfs}. */
export interface RootfsOptions {
  mode: RootfsMode;
  /** Where upper/work directories are created (same filesystem as the layers). */
  scratchDir: string;
}

async function overlay(layersBottomFirst: readonly string[], target: string, scratch: string) {
  await Deno.mkdir(scratch, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: scratch, prefix: "ovl-" });
  const upper = `${dir}/upperdir`;
  const work = `${dir}/workdir`;
  await Deno.mkdir(upper);
  await Deno.mkdir(work);
  let lowers = [...layersBottomFirst].reverse();
  if (lowers.length === 0) {
    await Deno.mkdir(`${dir}/empty`);
    lowers = [`${dir}/empty`];
  }
  if (lowers.some((l) => /[:,]/.test(l))) {
    throw new ImageError(
      "bundle_failed",
      "Layer paths contain ':' or ',' and cannot be overlay lowerdirs",
    );
  }
  const data = `lowerdir=${lowers.join(":")},upperdir=${upper},workdir=${work}`;
  try {
    if (data.length > MAX_MOUNT_DATA) {
      throw new ImageError(
        "bundle_failed",
        `Overlay options for ${lowers.length} layers exceed ${MAX_MOUNT_DATA} bytes`,
      );
    }
    mount({ source: "overlay", target, fstype: "overlay", data });
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** Builds `target` (an existing empty directory); returns the mode used. */
export async function createRootfs(
  layersBottomFirst: readonly string[],
  target: string,
  o: RootfsOptions,
): Promise<"overlay" | "copy"> {
  if (o.mode !== "copy") {
    try {
      await overlay(layersBottomFirst, target, o.scratchDir);
      return "overlay";
    } catch (e) {
      if (o.mode === "overlay") {
        if (e instanceof ImageError) throw e;
        throw new ImageError(
          "bundle_failed",
          `Cannot mount the overlay rootfs at ${target}: ${e instanceof Error ? e.message : e}`,
          { cause: e },
        );
      }
      if (
        !(e instanceof SysError || e instanceof ImageError || e instanceof Deno.errors.NotCapable)
      ) throw e;
    }
  }
  await mergeLayers(layersBottomFirst, target);
  return "copy";
}
