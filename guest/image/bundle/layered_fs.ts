/**
 * Reading a file out of a stack of overlay layer directories (top first) the way the merged
 * rootfs would show it, without following any symlink: a whiteout (char 0/0) or an opaque
 * directory above hides lower layers, and a symlink on the path is treated as "not found", so a
 * hostile image cannot make us read files outside its layers.
 *
 * @module
 */
import { lgetxattr } from "@coco/lib/sys";
import { ImageError } from "../errors.ts";

type Look = "file" | "absent" | "hidden" | "dir" | "opaque-dir" | "other";

async function look(path: string): Promise<Look> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) {
      return "absent";
    }
    throw e;
  }
  if (st.isCharDevice && st.rdev === 0) return "hidden";
  if (st.isFile) return "file";
  if (st.isDirectory) {
    let opaque: Uint8Array | undefined;
    try {
      opaque = lgetxattr(path, "trusted.overlay.opaque");
    } catch {
      opaque = undefined;
    }
    return opaque && new TextDecoder().decode(opaque) === "y" ? "opaque-dir" : "dir";
  }
  return "other";
}

/**
 * Reads `relPath` (e.g. `etc/passwd`) from `layersTopFirst`; undefined when the merged view has
 * no regular file there (missing, whited out, or reached through a symlink).
 */
export async function readLayered(
  layersTopFirst: readonly string[],
  relPath: string,
  limit = 1 << 20,
): Promise<string | undefined> {
  const parts = relPath.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === "..")) throw new Error(`readLayered: bad path ${relPath}`);
  for (const layer of layersTopFirst) {
    let stop = false;
    let dir = layer;
    let missing = false;
    for (let i = 0; i < parts.length; i++) {
      const path = `${dir}/${parts[i]}`;
      const kind = await look(path);
      const last = i === parts.length - 1;
      if (kind === "hidden" || kind === "other") return undefined;
      if (kind === "absent") {
        missing = true;
        break;
      }
      if (last) {
        if (kind !== "file") return undefined;
        const info = await Deno.lstat(path);
        if (info.size > limit) {
          throw new ImageError(
            "bundle_failed",
            `Image file /${relPath} is larger than ${limit} bytes`,
          );
        }
        return await Deno.readTextFile(path);
      }
      if (kind === "file") return undefined;
      if (kind === "opaque-dir") stop = true;
      dir = path;
    }
    if (missing && stop) return undefined;
  }
  return undefined;
}
