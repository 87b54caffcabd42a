/**
 * Whiteouts (`.wh.<name>`) and opaque markers (`.wh..wh..opq`): in layer mode they become what
 * overlayfs reads (a 0/0 char device; `trusted.overlay.opaque=y`), in merged mode deletions.
 * Both resolve their paths through {@link Tree}, so they can never delete outside the target.
 * Path-based calls: whiteouts are rare next to files.
 *
 * @module
 */
import { lsetxattr, lstatKind, mknod } from "@coco/lib/sys";
import { OPAQUE_MARKER } from "./paths.ts";
import type { Tree } from "./_tree.ts";

/** Hides (layer mode) or deletes (merged mode) `name` in `parent`. */
export function applyWhiteout(
  tree: Tree,
  mode: "layer" | "merged",
  entry: string,
  parent: string[],
  name: string,
): void {
  const rel = [...parent, name].join("/");
  const layer = mode === "layer";
  const parentExists = tree.walk(parent, parent.length, entry, layer);
  tree.claim(rel, "whiteout", entry);
  if (!parentExists) return;
  const abs = tree.abs(rel);
  const existing = lstatKind(abs);
  if (existing) Deno.removeSync(abs, { recursive: existing === "dir" });
  if (layer) mknod(abs, "char", { mode: 0, major: 0, minor: 0 });
}

/** Marks `dir` opaque (layer mode) or clears what lower layers put in it (merged mode). */
export function applyOpaque(
  tree: Tree,
  mode: "layer" | "merged",
  entry: string,
  dir: string[],
): void {
  const rel = dir.join("/");
  tree.walk(dir, dir.length, entry, true);
  tree.claim(rel === "" ? OPAQUE_MARKER : `${rel}/${OPAQUE_MARKER}`, "opaque", entry);
  if (mode === "layer") {
    lsetxattr(tree.abs(rel), "trusted.overlay.opaque", "y");
  } else {
    clearLower(tree, rel);
  }
}

/** Merged mode: removes everything under `rel` that this layer did not write or use. */
function clearLower(tree: Tree, rel: string): void {
  for (const child of Deno.readDirSync(tree.abs(rel))) {
    const childRel = rel === "" ? child.name : `${rel}/${child.name}`;
    const realDir = child.isDirectory && !child.isSymlink;
    if (realDir && (tree.seen(childRel) === "dir" || tree.usedDir(childRel))) {
      clearLower(tree, childRel);
    } else if (tree.seen(childRel) === undefined) {
      Deno.removeSync(tree.abs(childRel), { recursive: realDir });
    }
  }
}
