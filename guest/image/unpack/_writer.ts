/**
 * Applies parsed tar entries to the target directory through {@link Tree}: creates files (data
 * streamed to disk), directories, symlinks, hard links, devices and FIFOs; applies ownership,
 * mode (after chown, so setuid/setgid survive), xattrs and times; turns whiteouts into deletions
 * (merged mode) or overlayfs whiteouts (layer mode). Directory modes and times are applied at
 * the end, once nothing more is written into them.
 *
 * Speed: nodes are created with one `*at(parentFd, name)` call on the cached parent directory
 * fd (no path resolution, no existence check first: `EEXIST` is handled when it happens); a
 * file gets its contents, owner, mode and times through its own fd (`write`, `fchown`,
 * `fchmod` only when `open()`'s mode was not exact, `futimens`), the same system calls GNU tar
 * makes. Entries whose contents are already buffered are applied without an `await`.
 *
 * @module
 */
import {
  AtFlags,
  chmod,
  chmodAt,
  closeFdSync,
  cname,
  ERRNO,
  errorOf,
  fchmod,
  fchown,
  futimens,
  kindAt,
  lchown,
  lchownAt,
  lsetxattr,
  lutimes,
  lutimesAt,
  OFlags,
  SysError,
  tryLinkAt,
  tryMkdirAt,
  tryMknodAt,
  tryOpenAt,
  trySymlinkAt,
  writeAllSync,
} from "@coco/lib/sys";
import { UnpackError } from "./errors.ts";
import type { EntryTarget } from "./paths.ts";
import { applyOpaque, applyWhiteout } from "./_whiteouts.ts";
import type { TarTime } from "./pax.ts";
import type { EntryType, TarEntry } from "./tar_reader.ts";
import type { Tree } from "./_tree.ts";
import type { ResolvedOptions } from "./options.ts";

/** xattr namespaces a layer may not set: they steer overlayfs itself. */
const FORBIDDEN_XATTRS = ["trusted.overlay.", "user.overlay."];

interface DeferredDir {
  abs: string;
  mode: number;
  mtime: TarTime;
  atime: TarTime;
}

const FILE_FLAGS = OFlags.WRONLY | OFlags.CREAT | OFlags.EXCL | OFlags.NOFOLLOW;

/** Where a node goes: its parent directory's fd and its name there (NUL-terminated). */
interface At {
  dirFd: number;
  name: Uint8Array<ArrayBuffer>;
  /** Absolute path, for errors and the rare path-based calls. */
  abs: string;
}

/** Where a file entry's contents come from ({@link TarReader.copyBody}). */
export interface BodySource {
  /** Hands the contents to `sink`; `undefined` when done without waiting. */
  copyBody(sink: (chunk: Uint8Array) => void): Promise<void> | undefined;
}

/** The process umask (from /proc), or "every bit" when it cannot be read. */
function processUmask(): number {
  try {
    const m = /^Umask:\s+([0-7]+)$/m.exec(Deno.readTextFileSync("/proc/self/status"));
    if (m) return parseInt(m[1]!, 8);
  } catch { /* no /proc: always fchmod */ }
  return 0o777;
}

/** Counters the writer keeps for {@link UnpackStats}. */
export interface WriterCounts {
  bytes: number;
  whiteouts: number;
  xattrsSkipped: number;
}

/** Writes one layer's entries. */
export class LayerWriter {
  #tree: Tree;
  #opts: ResolvedOptions;
  #dirs: DeferredDir[] = [];
  /** The hard link target of the current entry (absolute). */
  #linkTo = "";
  /** Scratch buffer for the current entry's name (NAME_MAX + NUL). */
  #name = new Uint8Array(256);
  /** Permission bits the umask keeps from an open() mode (others need an fchmod). */
  #umask = processUmask();
  /** The file being written, for {@link #sink}. */
  #fd = -1;
  #fdPath = "";
  readonly counts: WriterCounts = { bytes: 0, whiteouts: 0, xattrsSkipped: 0 };

  constructor(tree: Tree, opts: ResolvedOptions) {
    this.#tree = tree;
    this.#opts = opts;
  }

  /** Applies `e` (already classified as `target`); `body` yields a file's contents. */
  apply(e: TarEntry, target: EntryTarget, body: BodySource): Promise<void> | undefined {
    switch (target.kind) {
      case "root":
        if (e.type !== "dir") {
          throw new UnpackError("duplicate_entry", e.path, "a non-directory entry names the root");
        }
        this.#metadata(e, this.#tree.root);
        return;
      case "whiteout":
        applyWhiteout(this.#tree, this.#opts.mode, e.path, target.parent, target.name);
        this.counts.whiteouts++;
        return;
      case "opaque":
        applyOpaque(this.#tree, this.#opts.mode, e.path, target.dir);
        this.counts.whiteouts++;
        return;
      case "path":
        return this.#node(e, target.parts, body);
    }
  }

  /** A file, directory, link or node; a promise only while a file's contents are awaited. */
  #node(e: TarEntry, parts: string[], body: BodySource): Promise<void> | undefined {
    const tree = this.#tree;
    const rel = parts.join("/");
    const last = parts.length - 1;
    const parent = last === 0 ? "" : rel.slice(0, rel.length - parts[last]!.length - 1);
    let dirFd = tree.dirFd(parts, last, e.path, true, undefined, parent)!;
    // Checked before anything is removed, so a refused entry leaves the target untouched.
    if (e.type === "hardlink") {
      this.#linkTo = tree.linkTarget(e.linkname, e.path, rel);
      dirFd = tree.dirFd(parts, last, e.path, true, undefined, parent)!; // may have been closed
    }
    if ((e.type === "char" || e.type === "block") && !this.#opts.allowDevices) {
      throw new UnpackError("device_not_allowed", e.path, `${e.type} devices are not allowed`);
    }
    if (e.type === "symlink" && e.linkname === "") {
      throw new UnpackError("bad_name", e.path, "the symlink target is empty");
    }
    tree.claim(rel, e.type === "dir" ? "dir" : "node", e.path);
    const at: At = { dirFd, name: cname(parts[last]!, this.#name), abs: tree.abs(rel) };
    switch (e.type) {
      case "dir":
        this.#make(at, "mkdirat", e.type);
        tree.addDir(rel);
        this.#metadata(e, at.abs);
        return;
      case "file":
        return this.#writeFile(e, at, body);
      case "hardlink": // shares its target's inode: no metadata of its own
        this.#make(at, "linkat", e.type);
        return;
      default:
        this.#make(at, e.type === "symlink" ? "symlinkat" : "mknodat", e.type, e);
        this.#metadataAt(e, at);
        return;
    }
  }

  /**
   * Creates the node `at` names; whatever is already there (from an earlier layer) is removed
   * first, recursively for a directory, except that a directory is kept for a directory.
   * Returns the fd for a regular file.
   */
  #make(at: At, call: string, type: EntryType, e?: TarEntry): number {
    let r = this.#create(at, type, e);
    if (r === -ERRNO.EEXIST) {
      const kind = kindAt(at.dirFd, at.name);
      if (kind === "dir" && type === "dir") return 0;
      if (kind !== undefined) Deno.removeSync(at.abs, { recursive: kind === "dir" });
      r = this.#create(at, type, e);
    }
    if (r < 0) throw errorOf(r, call, at.abs);
    return r;
  }

  /** One creating call; `-errno` on failure. */
  #create(at: At, type: EntryType, e: TarEntry | undefined): number {
    switch (type) {
      case "file":
        return tryOpenAt(at.dirFd, at.name, FILE_FLAGS, e!.mode & 0o777);
      case "dir":
        return tryMkdirAt(at.dirFd, at.name, 0o755);
      case "hardlink":
        return tryLinkAt(AtFlags.FDCWD, this.#linkTo, at.dirFd, at.name);
      case "symlink":
        return trySymlinkAt(e!.linkname, at.dirFd, at.name);
      case "char":
      case "block":
        return tryMknodAt(at.dirFd, at.name, type, 0, e!.devmajor, e!.devminor);
      case "fifo":
        return tryMknodAt(at.dirFd, at.name, "fifo", 0);
    }
  }

  /**
   * Creates a regular file, streams its contents in, then sets its metadata on the fd. A
   * promise only when contents had to be awaited.
   */
  #writeFile(e: TarEntry, at: At, body: BodySource): Promise<void> | undefined {
    const fd = this.#make(at, "openat", "file", e);
    let rest: Promise<void> | undefined;
    try {
      this.#fd = fd;
      this.#fdPath = at.abs;
      rest = body.copyBody(this.#sink);
    } catch (err) {
      this.#closeFile(fd, at.abs);
      throw err;
    }
    if (!rest) return this.#finishFile(e, at, fd);
    return rest.then(
      () => this.#finishFile(e, at, fd),
      (err) => {
        this.#closeFile(fd, at.abs);
        throw err;
      },
    );
  }

  /** Ownership, mode, xattrs and times of a written file, then closes it. */
  #finishFile(e: TarEntry, at: At, fd: number): undefined {
    try {
      const o = this.#opts;
      if (o.ownership) fchown(fd, o.mapUid(e.uid, e.path), o.mapGid(e.gid, e.path), at.abs);
      // open() set the mode already unless it has setuid/setgid/sticky (which chown clears) or
      // bits the umask removed.
      if ((e.mode & (0o7000 | this.#umask)) !== 0) fchmod(fd, e.mode, at.abs);
      // By path (rare), so errors name lsetxattr as for every other kind of node.
      for (const [name, value] of e.xattrs) {
        this.#xattr(e.path, name, () => lsetxattr(at.abs, name, value));
      }
      futimens(fd, e.atime ?? e.mtime, e.mtime, at.abs);
    } finally {
      this.#closeFile(fd, at.abs);
    }
    return undefined;
  }

  #closeFile(fd: number, abs: string): void {
    this.#fd = -1;
    closeFdSync(fd, abs);
  }

  /** Writes one chunk of the current file (bound once: no closure per file). */
  #sink = (chunk: Uint8Array): void => {
    writeAllSync(this.#fd, chunk, this.#fdPath);
    this.counts.bytes += chunk.length;
  };

  /** Directories (path-based): ownership and xattrs now, mode and times at the end. */
  #metadata(e: TarEntry, abs: string): void {
    const o = this.#opts;
    if (o.ownership) lchown(abs, o.mapUid(e.uid, e.path), o.mapGid(e.gid, e.path));
    for (const [name, value] of e.xattrs) {
      this.#xattr(e.path, name, () => lsetxattr(abs, name, value));
    }
    this.#dirs.push({ abs, mode: e.mode, mtime: e.mtime, atime: e.atime ?? e.mtime });
  }

  /** Symlinks, devices and FIFOs: ownership, mode (not symlinks), xattrs, times. */
  #metadataAt(e: TarEntry, at: At): void {
    const o = this.#opts;
    if (o.ownership) lchownAt(at.dirFd, at.name, o.mapUid(e.uid, e.path), o.mapGid(e.gid, e.path));
    if (e.type !== "symlink") chmodAt(at.dirFd, at.name, e.mode);
    for (const [name, value] of e.xattrs) {
      this.#xattr(e.path, name, () => lsetxattr(at.abs, name, value));
    }
    lutimesAt(at.dirFd, at.name, e.atime ?? e.mtime, e.mtime);
  }

  /** Sets one xattr with `set`, unless forbidden; may skip unsupported ones (option). */
  #xattr(entry: string, name: string, set: () => void): void {
    if (FORBIDDEN_XATTRS.some((p) => name.startsWith(p))) {
      throw new UnpackError("forbidden_xattr", entry, `a layer may not set the xattr ${name}`);
    }
    try {
      set();
    } catch (err) {
      if (
        !(err instanceof SysError) || err.code !== "EOPNOTSUPP" ||
        !this.#opts.ignoreUnsupportedXattrs
      ) throw err;
      this.counts.xattrsSkipped++;
    }
  }

  /** Applies the deferred directory modes and times. */
  finish(): void {
    for (const d of this.#dirs) {
      chmod(d.abs, d.mode);
      lutimes(d.abs, d.atime, d.mtime);
    }
    this.#dirs = [];
  }

  /** Closes the directory fds. */
  close(): void {
    this.#tree.close();
  }
}
