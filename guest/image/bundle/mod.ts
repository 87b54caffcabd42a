/**
 * Container bundles: `<dir>/rootfs` (overlay mount of the stored layers, or a merged copy) and
 * `<dir>/config.json` (OCI runtime spec generated from the image config, with the user resolved
 * through the image's own /etc/passwd and /etc/group).
 *
 * @module
 */
import type { ImageConfig } from "@coco/lib/oci";
import { pathExists } from "@coco/lib/fs";
import { ImageError } from "../errors.ts";
import { readLayered } from "./layered_fs.ts";
import { createRootfs, type RootfsMode } from "./rootfs.ts";
import { type RuntimeSpec, runtimeSpec } from "./spec.ts";
import { resolveUser } from "./user.ts";

export { type RootfsMode } from "./rootfs.ts";
export { DEFAULT_PATH, type RuntimeSpec, runtimeSpec } from "./spec.ts";
export { type ProcessUser, resolveUser } from "./user.ts";
export { readLayered } from "./layered_fs.ts";
export { mergeLayers } from "./merge.ts";

/** Options of {@link createBundle}. */
export interface BundleOptions {
  /** Layer directories, bottom first (as {@link PullResult.layers}). */
  layers: readonly string[];
  config: ImageConfig;
  mode?: RootfsMode;
  /** Where overlay upper/work directories go (the work dir's `overlay/`). */
  scratchDir: string;
}

/** What {@link createBundle} made. */
export interface Bundle {
  rootfs: string;
  configPath: string;
  mode: "overlay" | "copy";
  spec: RuntimeSpec;
}

/** Creates the bundle in `dir`; refuses a dir that already has a config.json or a non-empty rootfs. */
export async function createBundle(dir: string, o: BundleOptions): Promise<Bundle> {
  const configPath = `${dir}/config.json`;
  const rootfs = `${dir}/rootfs`;
  if (await pathExists(configPath)) {
    throw new ImageError("bundle_failed", `Bundle ${dir} already has a config.json`);
  }
  await Deno.mkdir(rootfs, { recursive: true });
  for await (const _ of Deno.readDir(rootfs)) {
    throw new ImageError("bundle_failed", `Bundle rootfs ${rootfs} is not empty`);
  }
  const topFirst = [...o.layers].reverse();
  const user = resolveUser(
    o.config.config.User,
    await readLayered(topFirst, "etc/passwd"),
    await readLayered(topFirst, "etc/group"),
  );
  const spec = runtimeSpec(o.config, user);
  const mode = await createRootfs(o.layers, rootfs, {
    mode: o.mode ?? "auto",
    scratchDir: o.scratchDir,
  });
  await Deno.writeTextFile(configPath, JSON.stringify(spec, null, 2) + "\n", { createNew: true });
  return { rootfs, configPath, mode, spec };
}
