/**
 * The merged-copy rootfs, for when overlayfs cannot be mounted: layer directories are copied
 * bottom-first onto one directory, applying overlay semantics — a char 0/0 whiteout deletes, an
 * opaque directory (`trusted.overlay.opaque=y`) replaces, a different entry type replaces. Paths
 * are only ever walked through directories this code created, so a symlink from an earlier layer
 * is replaced, never followed. Hard links inside a layer stay hard links.
 *
 * @module
 */
import { lchown, lgetxattr, lutimes, mknod } from "@coco/lib/sys";

interface Ctx {
  /** Copied files by `dev:ino` of their source, to keep hard links. */
  links: Map<string, string>;
  owners: boolean;
}

function isWhiteout(st: Deno.FileInfo): boolean {
  return st.isCharDevice === true && st.rdev === 0;
}

function isOpaque(path: string): boolean {
  try {
    const v = lgetxattr(path, "trusted.overlay.opaque");
    return v !== undefined && new TextDecoder().decode(v) === "y";
  } catch {
    return false;
  }
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function finish(path: string, st: Deno.FileInfo, ctx: Ctx): void {
  if (ctx.owners) lchown(path, st.uid ?? 0, st.gid ?? 0);
  if (!st.isSymlink) Deno.chmodSync(path, (st.mode ?? 0o644) & 0o7777);
  if (st.mtime) lutimes(path, st.atime ?? st.mtime, st.mtime);
}

async function copyEntry(src: string, dst: string, st: Deno.FileInfo, ctx: Ctx): Promise<void> {
  if (st.isFile) {
    const key = `${st.dev}:${st.ino}`;
    const first = (st.nlink ?? 1) > 1 ? ctx.links.get(key) : undefined;
    if (first) return await Deno.link(first, dst);
    await Deno.copyFile(src, dst);
    if ((st.nlink ?? 1) > 1) ctx.links.set(key, dst);
  } else if (st.isSymlink) {
    await Deno.symlink(await Deno.readLink(src), dst);
  } else if (st.isFifo) {
    mknod(dst, "fifo", { mode: st.mode ?? 0o644 });
  } else if (st.isCharDevice || st.isBlockDevice) {
    const rdev = st.rdev ?? 0;
    const major = ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
    const minor = (rdev & 0xff) | ((rdev >> 12) & 0xfff00);
    mknod(dst, st.isCharDevice ? "char" : "block", { mode: st.mode ?? 0o600, major, minor });
  } else {
    return; // sockets are not image content
  }
  finish(dst, st, ctx);
}

async function mergeDir(src: string, dst: string, ctx: Ctx): Promise<void> {
  for await (const e of Deno.readDir(src)) {
    const s = `${src}/${e.name}`;
    const d = `${dst}/${e.name}`;
    const st = await Deno.lstat(s);
    const existing = await lstatOrUndefined(d);
    if (isWhiteout(st)) {
      if (existing) await Deno.remove(d, { recursive: true });
      continue;
    }
    if (st.isDirectory) {
      if (existing && (!existing.isDirectory || isOpaque(s))) {
        await Deno.remove(d, { recursive: true });
      }
      if (!existing || !existing.isDirectory || isOpaque(s)) await Deno.mkdir(d);
      await mergeDir(s, d, ctx);
      finish(d, st, ctx);
      continue;
    }
    if (existing) await Deno.remove(d, { recursive: true });
    await copyEntry(s, d, st, ctx);
  }
}

/** Copies `layersBottomFirst` onto the existing, empty directory `target`. */
export async function mergeLayers(
  layersBottomFirst: readonly string[],
  target: string,
  options: { owners?: boolean } = {},
): Promise<void> {
  for (const layer of layersBottomFirst) {
    const ctx: Ctx = { links: new Map(), owners: options.owners ?? Deno.uid() === 0 };
    await mergeDir(layer, target, ctx);
    const st = await Deno.lstat(layer);
    finish(target, st, ctx);
  }
}
