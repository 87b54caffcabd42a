/**
 * `CopyFile` (spec/runtime.md §2.5): how files reach the guest when there is no shared
 * filesystem (`shared_fs = "none"`, every CoCo configuration): hostname, hosts, resolv.conf,
 * ConfigMaps, Secrets, sent in chunks of at most 1 MiB with increasing offsets.
 *
 * - The destination must lie under `<base>/shared/containers/` lexically and after resolving
 *   symlinks of its existing parents (a symlink copied earlier cannot lead a later copy out).
 * - `file_mode`'s type bits choose the node: S_IFDIR makes a directory, S_IFLNK a symlink whose
 *   target is `data` (relative targets only: an absolute one would point into the guest's own
 *   tree when the container follows it), anything else a regular file.
 * - A regular file is written to `<path>.tmp` (offset 0 starts it afresh) and renamed over
 *   `<path>` once it holds `file_size` bytes, so a reader never sees half a file: this is what
 *   lets a ConfigMap be updated in place, as upstream.
 * - Parents are created with `dir_mode`; uid/gid are applied to the node (and to the parent
 *   directories this call created).
 *
 * @module
 */
import { basename, dirname, isAbsolute, join, normalize } from "node:path";
import type { agent } from "@coco/lib/proto";
import type { JsonValue } from "@coco/lib/rego";
import { agentError } from "./errors.ts";
import { type AgentPaths, ensureInside } from "./paths.ts";

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
/** Largest chunk upstream runtimes send. */
export const COPY_CHUNK_MAX = 1024 * 1024;
/** Largest file we accept (a Secret/ConfigMap is at most 1 MiB; leave room for host files). */
export const COPY_FILE_MAX = 64 * 1024 * 1024;

/** The node kind `file_mode` asks for, as the policy input names it. */
export function copyFileType(mode: number): "Regular" | "Directory" | "Symlink" | "Unknown" {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return "Directory";
    case S_IFLNK:
      return "Symlink";
    case S_IFREG:
    case 0:
      return "Regular";
    default:
      return "Unknown";
  }
}

/**
 * The policy input of a CopyFileRequest (spec/runtime.md §4.2): no `data`, but the node type and
 * the symlink target spelled out.
 */
export function copyFilePolicyInput(req: agent.CopyFileRequest): { [k: string]: JsonValue } {
  const type = copyFileType(req.fileMode);
  return {
    path: req.path,
    file_type: type,
    symlink_target: type === "Symlink" ? new TextDecoder().decode(req.data) : "",
    file_size: Number(req.fileSize),
    file_mode: req.fileMode,
    dir_mode: req.dirMode,
    uid: req.uid,
    gid: req.gid,
    offset: Number(req.offset),
  };
}

async function lstatOrNull(path: string): Promise<Deno.FileInfo | null> {
  return await Deno.lstat(path).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  });
}

/** mkdir -p with `mode` and owner on what it creates; returns nothing. */
async function makeParents(dir: string, mode: number, uid: number, gid: number): Promise<void> {
  const info = await lstatOrNull(dir);
  if (info) {
    if (!info.isDirectory) {
      throw agentError("invalid-argument", `CopyFile: parent ${dir} exists and is not a directory`);
    }
    return;
  }
  await makeParents(dirname(dir), mode, uid, gid);
  await Deno.mkdir(dir, { mode: mode & 0o7777 }).catch((err) => {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  });
  await Deno.chmod(dir, mode & 0o7777);
  if (uid >= 0 && gid >= 0) await Deno.chown(dir, uid, gid);
}

/** Removes whatever non-directory node sits at `path` (a directory must be empty). */
async function clear(path: string): Promise<void> {
  const info = await lstatOrNull(path);
  if (!info) return;
  await Deno.remove(path);
}

/** Validates and applies one CopyFile chunk under `paths.shared`. */
export async function copyFile(paths: AgentPaths, req: agent.CopyFileRequest): Promise<void> {
  const path = req.path;
  if (!isAbsolute(path) || normalize(path) !== path || path.split("/").includes("..")) {
    throw agentError("invalid-argument", `CopyFile: path "${path}" is not a clean absolute path`);
  }
  if (path === paths.shared || dirname(path) === path) {
    throw agentError("invalid-argument", `CopyFile: path "${path}" names no file`);
  }
  const type = copyFileType(req.fileMode);
  if (type === "Unknown") {
    throw agentError(
      "invalid-argument",
      `CopyFile ${path}: unsupported file_mode 0o${req.fileMode.toString(8)}`,
    );
  }
  const what = "CopyFile path";
  await ensureInside(path, [paths.shared], what);
  const parent = dirname(path);
  await makeParents(parent, req.dirMode || 0o750, req.uid, req.gid);
  // The parents exist now: resolve them again, symlinks included.
  await ensureInside(parent, [paths.shared], what);
  if (type === "Directory") return await makeDirectory(path, req);
  if (type === "Symlink") return await makeSymlink(path, req);
  await writeChunk(path, req);
}

async function makeDirectory(path: string, req: agent.CopyFileRequest): Promise<void> {
  const info = await lstatOrNull(path);
  if (info && !info.isDirectory) await clear(path);
  if (!info?.isDirectory) await Deno.mkdir(path);
  await Deno.chmod(path, req.fileMode & 0o7777);
  if (req.uid >= 0 && req.gid >= 0) await Deno.chown(path, req.uid, req.gid);
}

async function makeSymlink(path: string, req: agent.CopyFileRequest): Promise<void> {
  if (req.data.length > 4096) {
    throw agentError("invalid-argument", `CopyFile ${path}: symlink target over 4096 bytes`);
  }
  const target = new TextDecoder().decode(req.data);
  if (target === "" || isAbsolute(target) || target.includes("\0")) {
    throw agentError(
      "invalid-argument",
      `CopyFile ${path}: symlink target "${target}" must be relative`,
    );
  }
  const info = await lstatOrNull(path);
  if (info?.isDirectory) await Deno.remove(path, { recursive: true });
  else await clear(path);
  await Deno.symlink(target, path);
}

/** A regular file: chunk into `<path>.tmp`, renamed over `<path>` once complete. */
async function writeChunk(path: string, req: agent.CopyFileRequest): Promise<void> {
  const size = Number(req.fileSize);
  const offset = Number(req.offset);
  if (!Number.isSafeInteger(size) || size < 0 || size > COPY_FILE_MAX) {
    throw agentError(
      "invalid-argument",
      `CopyFile ${path}: file_size ${req.fileSize} is out of range`,
    );
  }
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + req.data.length > size) {
    throw agentError(
      "invalid-argument",
      `CopyFile ${path}: offset ${req.offset} + ${req.data.length} bytes exceeds file_size ${size}`,
    );
  }
  if (req.data.length > COPY_CHUNK_MAX) {
    throw agentError("invalid-argument", `CopyFile ${path}: chunk over ${COPY_CHUNK_MAX} bytes`);
  }
  const perm = req.fileMode & 0o7777;
  const tmp = join(dirname(path), `${basename(path)}.tmp`);
  if (offset === 0) await clear(tmp);
  else if (!(await lstatOrNull(tmp))?.isFile) {
    throw agentError(
      "failed-precondition",
      `CopyFile ${path}: offset ${offset} without a started copy`,
    );
  }
  const f = await Deno.open(tmp, { write: true, create: true, mode: perm || 0o644 });
  try {
    await f.seek(offset, Deno.SeekMode.Start);
    let at = 0;
    while (at < req.data.length) at += await f.write(req.data.subarray(at));
  } finally {
    f.close();
  }
  if ((await Deno.lstat(tmp)).size < size) return;
  await Deno.chmod(tmp, perm);
  if (req.uid >= 0 && req.gid >= 0) await Deno.chown(tmp, req.uid, req.gid);
  if ((await lstatOrNull(path))?.isDirectory) await Deno.remove(path, { recursive: true });
  await Deno.rename(tmp, path);
}
