/**
 * Applies parsed tar entries to the target directory through {@link Tree}: creates files (data
 * streamed to disk), directories, symlinks, hard links, devices and FIFOs; applies ownership,
 * mode (after chown, so setuid/setgid survive), xattrs and times; turns whiteouts into deletions
 * (merged mode) or overlayfs whiteouts (layer mode). Directory modes and times are applied at
 * the end, once nothing more is written into them.
 *
 * @module
 */
import { chmod, lchown, lsetxattr, lstatKind, lutimes, mknod, SysError } from "@coco/lib/sys";
import { UnpackError } from "./errors.ts";
import type { EntryTarget } from "./paths.ts";
import { normalize, OPAQUE_MARKER } from "./paths.ts";
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
  readonly counts: WriterCounts = { bytes: 0, whiteouts: 0, xattrsSkipped: 0 };

  constructor(tree: Tree, opts: ResolvedOptions) {
    this.#tree = tree;
    this.#opts = opts;
  }

  /** Applies `e` (already classified as `target`); `body` yields a file's contents. */
  async apply(e: TarEntry, target: EntryTarget, body: () => AsyncIterable<Uint8Array>) {
    switch (target.kind) {
      case "root":
        if (e.type !== "dir") {
          throw new UnpackError("duplicate_entry", e.path, "a non-directory entry names the root");
        }
        return this.#metadata(e, this.#tree.root, true);
      case "whiteout":
        return this.#whiteout(e.path, target.parent, target.name);
      case "opaque":
        return this.#opaque(e.path, target.dir);
      case "path":
        return await this.#node(e, target.parts, body);
    }
  }

  async #node(e: TarEntry, parts: string[], body: () => AsyncIterable<Uint8Array>) {
    const tree = this.#tree;
    const rel = parts.join("/");
    const abs = tree.abs(rel);
    tree.walk(parts, parts.length - 1, e.path, true);
    // Checked before anything is removed, so a refused entry leaves the target untouched.
    const linkTo = e.type === "hardlink" ? this.#linkTarget(e, rel) : "";
    if ((e.type === "char" || e.type === "block") && !this.#opts.allowDevices) {
      throw new UnpackError("device_not_allowed", e.path, `${e.type} devices are not allowed`);
    }
    if (e.type === "symlink" && e.linkname === "") {
      throw new UnpackError("bad_name", e.path, "the symlink target is empty");
    }
    tree.claim(rel, e.type === "dir" ? "dir" : "node", e.path);
    const existing = lstatKind(abs);
    if (e.type === "dir") {
      if (existing && existing !== "dir") Deno.removeSync(abs);
      if (existing !== "dir") Deno.mkdirSync(abs);
      tree.addDir(rel);
      return this.#metadata(e, abs, true);
    }
    if (existing) Deno.removeSync(abs, { recursive: existing === "dir" });
    if (await this.#create(e, e.type, abs, linkTo, body)) this.#metadata(e, abs, false);
  }

  /** Creates a non-directory node; false for a hard link (it has no metadata of its own). */
  async #create(
    e: TarEntry,
    type: Exclude<EntryType, "dir">,
    abs: string,
    linkTo: string,
    body: () => AsyncIterable<Uint8Array>,
  ): Promise<boolean> {
    switch (type) {
      case "file":
        await this.#writeFile(abs, e.size, body());
        return true;
      case "symlink":
        Deno.symlinkSync(e.linkname, abs);
        return true;
      case "hardlink":
        Deno.linkSync(linkTo, abs);
        return false;
      case "char":
      case "block":
        mknod(abs, type, { mode: 0, major: e.devmajor, minor: e.devminor });
        return true;
      case "fifo":
        mknod(abs, "fifo", { mode: 0 });
        return true;
    }
  }

  async #writeFile(abs: string, size: number, data: AsyncIterable<Uint8Array>): Promise<void> {
    const it = data[Symbol.asyncIterator]();
    const first = await it.next();
    const head = first.done ? new Uint8Array(0) : first.value;
    if (head.length === size) {
      // Whole contents in one chunk (most small files): one op instead of open/write/close.
      Deno.writeFileSync(abs, head, { createNew: true, mode: 0o600 });
      this.counts.bytes += size;
      return;
    }
    // Synchronous writes: each is one chunk into the page cache, cheaper than an async op's
    // thread hop, and short enough not to stall the event loop.
    const file = Deno.openSync(abs, { write: true, createNew: true, mode: 0o600 });
    try {
      for (let r = first; !r.done; r = await it.next()) {
        let chunk = r.value;
        while (chunk.length > 0) {
          const n = file.writeSync(chunk);
          chunk = chunk.subarray(n);
          this.counts.bytes += n;
        }
      }
    } finally {
      file.close();
    }
  }

  /** Resolves a hard link's target inside the target directory, never through a symlink. */
  #linkTarget(e: TarEntry, rel: string): string {
    let parts: string[];
    try {
      parts = normalize(e.linkname, e.path);
    } catch (cause) {
      throw new UnpackError(
        "unsafe_link",
        e.path,
        "the hard link target leaves the target directory",
        { cause },
      );
    }
    const targetRel = parts.join("/");
    if (parts.length === 0 || targetRel === rel) {
      throw new UnpackError(
        "unsafe_link",
        e.path,
        `the hard link target ${JSON.stringify(e.linkname)} is not a file`,
      );
    }
    const tree = this.#tree;
    const found = tree.walk(parts, parts.length - 1, e.path, false, "the hard link target");
    const kind = found ? lstatKind(tree.abs(targetRel)) : undefined;
    if (kind === undefined || kind === "dir" || tree.seen(targetRel) === "whiteout") {
      throw new UnpackError(
        "unsafe_link",
        e.path,
        `the hard link target ${JSON.stringify(e.linkname)} ${
          kind === "dir" ? "is a directory" : "does not exist"
        }`,
      );
    }
    return tree.abs(targetRel);
  }

  #whiteout(entry: string, parent: string[], name: string): void {
    const tree = this.#tree;
    const rel = [...parent, name].join("/");
    const layer = this.#opts.mode === "layer";
    const parentExists = tree.walk(parent, parent.length, entry, layer);
    tree.claim(rel, "whiteout", entry);
    this.counts.whiteouts++;
    if (!parentExists) return;
    const abs = tree.abs(rel);
    const existing = lstatKind(abs);
    if (existing) Deno.removeSync(abs, { recursive: existing === "dir" });
    if (layer) mknod(abs, "char", { mode: 0, major: 0, minor: 0 });
  }

  #opaque(entry: string, dir: string[]): void {
    const tree = this.#tree;
    const rel = dir.join("/");
    tree.walk(dir, dir.length, entry, true);
    tree.claim(rel === "" ? OPAQUE_MARKER : `${rel}/${OPAQUE_MARKER}`, "opaque", entry);
    this.counts.whiteouts++;
    if (this.#opts.mode === "layer") {
      lsetxattr(tree.abs(rel), "trusted.overlay.opaque", "y");
    } else {
      this.#clearLower(rel);
    }
  }

  /** Merged mode: removes everything under `rel` that this layer did not write or use. */
  #clearLower(rel: string): void {
    const tree = this.#tree;
    for (const child of Deno.readDirSync(tree.abs(rel))) {
      const childRel = rel === "" ? child.name : `${rel}/${child.name}`;
      const realDir = child.isDirectory && !child.isSymlink;
      if (realDir && (tree.seen(childRel) === "dir" || tree.usedDir(childRel))) {
        this.#clearLower(childRel);
      } else if (tree.seen(childRel) === undefined) {
        Deno.removeSync(tree.abs(childRel), { recursive: realDir });
      }
    }
  }

  /** Ownership, then mode, xattrs and times (directories: mode and times deferred). */
  #metadata(e: TarEntry, abs: string, isDir: boolean): void {
    if (this.#opts.ownership) {
      lchown(abs, this.#opts.mapUid(e.uid, e.path), this.#opts.mapGid(e.gid, e.path));
    }
    if (!isDir && e.type !== "symlink") chmod(abs, e.mode);
    for (const [name, value] of e.xattrs) this.#xattr(e.path, abs, name, value);
    const atime = e.atime ?? e.mtime;
    if (isDir) this.#dirs.push({ abs, mode: e.mode, mtime: e.mtime, atime });
    else lutimes(abs, atime, e.mtime);
  }

  #xattr(entry: string, abs: string, name: string, value: Uint8Array): void {
    if (FORBIDDEN_XATTRS.some((p) => name.startsWith(p))) {
      throw new UnpackError("forbidden_xattr", entry, `a layer may not set the xattr ${name}`);
    }
    try {
      lsetxattr(abs, name, value);
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
}
