/**
 * Path resolution confined to the target directory, without following symlinks: directories
 * are opened one component at a time with `openat(O_PATH|O_DIRECTORY|O_NOFOLLOW)` from the target's
 * own fd, so a symlink (or a non-directory) anywhere in a parent chain makes the open fail and
 * is reported; nothing is ever resolved through one. Open directory fds are cached (a bounded
 * LRU), so most entries cost no lookup at all: the writer creates each node with one
 * `*at(dirFd, name)` call. Also remembers which paths this layer has written, to refuse
 * duplicates and whiteouts or replacements of the layer's own entries.
 *
 * Safety argument: the only writer in the target during an unpack is this unpacker, and it
 * never replaces a directory that is in the cache (see {@link Tree.usedDir}), so a cached
 * directory fd (or "is a real directory" answer) stays right for the whole layer.
 *
 * @module
 */
import {
  AtFlags,
  chmodAt,
  closeFdSync,
  ERRNO,
  errorOf,
  kindAt,
  lstatKind,
  OFlags,
  tryMkdirAt,
  tryOpenAt,
} from "@coco/lib/sys";
import { UnpackError } from "./errors.ts";
import { normalize } from "./paths.ts";

/** What this layer put at a path. */
export type Seen = "dir" | "node" | "whiteout" | "opaque";

/** Directory fds kept open at most (besides the target's own). */
const MAX_OPEN_DIRS = 128;
const DIR_FLAGS = OFlags.PATH | OFlags.DIRECTORY | OFlags.NOFOLLOW;

/** The target directory and what the current layer did to it. */
export class Tree {
  /** Canonical absolute path of the target directory. */
  readonly root: string;
  /** Fd of the target directory. */
  readonly rootFd: number;
  /** Relative paths known to be real directories (`""` is the root). */
  #dirs = new Set<string>([""]);
  #seen = new Map<string, Seen>();
  /** Open directory fds by relative path, least recently used first. */
  #fds = new Map<string, number>();

  constructor(root: string) {
    this.root = root;
    const fd = tryOpenAt(AtFlags.FDCWD, root, DIR_FLAGS);
    if (fd < 0) throw errorOf(fd, "openat", root);
    this.rootFd = fd;
  }

  /** Absolute path of a relative one. */
  abs(rel: string): string {
    return rel === "" ? this.root : `${this.root}/${rel}`;
  }

  /**
   * The fd of the directory made of the first `count` components of `parts`, checking that
   * each is a real directory (not a symlink) and creating missing ones (mode 0755, root-owned)
   * when `create`. `undefined` when one is missing and `create` is false. `entry` and `what`
   * name the archive member in errors; `key`, when the caller has it, is those components
   * joined with `/`. The fd stays valid until the next call (the cache may close it then): use
   * it at once.
   */
  dirFd(
    parts: string[],
    count: number,
    entry: string,
    create: boolean,
    what = "the path",
    key = parts.slice(0, count).join("/"),
  ): number | undefined {
    if (count === 0) return this.rootFd;
    const hit = this.#fds.get(key);
    if (hit !== undefined) {
      this.#fds.delete(key); // most recently used goes last
      this.#fds.set(key, hit);
      return hit;
    }
    let fd = this.rootFd;
    let rel = "";
    for (let i = 0; i < count; i++) {
      rel = i === 0 ? parts[0]! : `${rel}/${parts[i]}`;
      const cached = this.#fds.get(rel);
      if (cached !== undefined) {
        fd = cached;
        continue;
      }
      const child = this.#open(fd, parts[i]!, rel, entry, create, what);
      if (child === undefined) return undefined;
      fd = child;
    }
    return fd;
  }

  /** Opens (or creates, then opens) one directory component below `parentFd`. */
  #open(
    parentFd: number,
    name: string,
    rel: string,
    entry: string,
    create: boolean,
    what: string,
  ): number | undefined {
    let fd = tryOpenAt(parentFd, name, DIR_FLAGS);
    if (fd === -ERRNO.ENOENT) {
      if (!create) return undefined;
      const made = tryMkdirAt(parentFd, name, 0o755);
      if (made < 0) throw errorOf(made, "mkdirat", this.abs(rel));
      chmodAt(parentFd, name, 0o755); // whatever the umask
      fd = tryOpenAt(parentFd, name, DIR_FLAGS);
    }
    if (fd === -ERRNO.ENOTDIR || fd === -ERRNO.ELOOP) {
      if (kindAt(parentFd, name) === "symlink") {
        throw new UnpackError(
          "symlink_in_path",
          entry,
          `${what} goes through the symlink ${JSON.stringify(rel)}`,
        );
      }
      throw new UnpackError(
        "not_a_directory",
        entry,
        `${what} goes through ${JSON.stringify(rel)}, which is not a directory`,
      );
    }
    if (fd < 0) throw errorOf(fd, "openat", this.abs(rel));
    this.#dirs.add(rel);
    this.#fds.set(rel, fd);
    if (this.#fds.size > MAX_OPEN_DIRS) {
      const [oldest, oldFd] = this.#fds.entries().next().value!;
      this.#fds.delete(oldest);
      closeFdSync(oldFd);
    }
    return fd;
  }

  /**
   * Checks that the first `count` components of `parts` are real directories (see
   * {@link dirFd}); false when one is missing and `create` is false.
   */
  walk(parts: string[], count: number, entry: string, create: boolean, what = "the path"): boolean {
    return this.dirFd(parts, count, entry, create, what) !== undefined;
  }

  /**
   * Resolves the target `linkname` of a hard link at `rel` (archive member `entry`): an
   * existing non-directory inside the target, reached without symlinks. Returns its absolute
   * path; throws `unsafe_link` (or `symlink_in_path`, `not_a_directory`) otherwise.
   */
  linkTarget(linkname: string, entry: string, rel: string): string {
    let parts: string[];
    try {
      parts = normalize(linkname, entry);
    } catch (cause) {
      throw new UnpackError(
        "unsafe_link",
        entry,
        "the hard link target leaves the target directory",
        { cause },
      );
    }
    const targetRel = parts.join("/");
    if (parts.length === 0 || targetRel === rel) {
      throw new UnpackError(
        "unsafe_link",
        entry,
        `the hard link target ${JSON.stringify(linkname)} is not a file`,
      );
    }
    const found = this.walk(parts, parts.length - 1, entry, false, "the hard link target");
    const kind = found ? lstatKind(this.abs(targetRel)) : undefined;
    if (kind === undefined || kind === "dir" || this.seen(targetRel) === "whiteout") {
      throw new UnpackError(
        "unsafe_link",
        entry,
        `the hard link target ${JSON.stringify(linkname)} ${
          kind === "dir" ? "is a directory" : "does not exist"
        }`,
      );
    }
    return this.abs(targetRel);
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

  /** Closes every directory fd. */
  close(): void {
    for (const fd of this.#fds.values()) closeFdSync(fd);
    this.#fds.clear();
    closeFdSync(this.rootFd);
  }
}
