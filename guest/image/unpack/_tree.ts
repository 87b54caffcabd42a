/**
 * Path resolution confined to the target directory, without following symlinks: every parent
 * component of every path is `lstat`ed (once per layer; results cached) and must be a real
 * directory. Also remembers which paths this layer has written, to refuse duplicates and
 * whiteouts or replacements of the layer's own entries.
 *
 * Safety argument: the only writer in the target during an unpack is this unpacker, and it
 * never replaces a directory that is in the cache (see {@link Tree.usedDir}), so a cached
 * "is a real directory" answer stays true for the whole layer.
 *
 * @module
 */
import { lstatKind } from "@coco/lib/sys";
import { UnpackError } from "./errors.ts";

/** What this layer put at a path. */
export type Seen = "dir" | "node" | "whiteout" | "opaque";

/** The target directory and what the current layer did to it. */
export class Tree {
  /** Canonical absolute path of the target directory. */
  readonly root: string;
  /** Relative paths known to be real directories (`""` is the root). */
  #dirs = new Set<string>([""]);
  #seen = new Map<string, Seen>();

  constructor(root: string) {
    this.root = root;
  }

  /** Absolute path of a relative one. */
  abs(rel: string): string {
    return rel === "" ? this.root : `${this.root}/${rel}`;
  }

  /**
   * Checks that the first `count` components of `parts` are real directories (not symlinks),
   * creating missing ones (mode 0755, root-owned) when `create`. Returns false when one is
   * missing and `create` is false. `entry` and `what` name the archive member in errors.
   */
  walk(parts: string[], count: number, entry: string, create: boolean, what = "the path"): boolean {
    let rel = "";
    for (let i = 0; i < count; i++) {
      rel = i === 0 ? parts[0]! : `${rel}/${parts[i]}`;
      if (this.#dirs.has(rel)) continue;
      const abs = this.abs(rel);
      const kind = lstatKind(abs);
      if (kind === undefined) {
        if (!create) return false;
        Deno.mkdirSync(abs);
        Deno.chmodSync(abs, 0o755);
        this.#dirs.add(rel);
        continue;
      }
      if (kind === "symlink") {
        throw new UnpackError(
          "symlink_in_path",
          entry,
          `${what} goes through the symlink ${JSON.stringify(rel)}`,
        );
      }
      if (kind !== "dir") {
        throw new UnpackError(
          "not_a_directory",
          entry,
          `${what} goes through ${JSON.stringify(rel)}, which is not a directory`,
        );
      }
      this.#dirs.add(rel);
    }
    return true;
  }

  /** Records that `rel` is a real directory from now on. */
  addDir(rel: string): void {
    this.#dirs.add(rel);
  }

  /** True when this layer relies on `rel` being a directory (walked through or created). */
  usedDir(rel: string): boolean {
    return this.#dirs.has(rel);
  }

  /** What this layer already put at `rel`, if anything. */
  seen(rel: string): Seen | undefined {
    return this.#seen.get(rel);
  }

  /**
   * Claims `rel` for an entry of this layer. Throws `duplicate_entry` when the layer already
   * wrote or whited out that path, or (for anything but a directory) when it replaces a
   * directory that earlier entries of the layer used.
   */
  claim(rel: string, kind: Seen, entry: string): void {
    const prior = this.#seen.get(rel);
    if (prior !== undefined) {
      throw new UnpackError(
        "duplicate_entry",
        entry,
        `the layer already has ${prior === "whiteout" ? "a whiteout for" : "an entry at"} ` +
          JSON.stringify(rel),
      );
    }
    if (kind !== "dir" && kind !== "opaque" && this.#dirs.has(rel)) {
      throw new UnpackError(
        "duplicate_entry",
        entry,
        `it would replace the directory ${
          JSON.stringify(rel)
        } that earlier entries of the layer use`,
      );
    }
    this.#seen.set(rel, kind);
  }
}
