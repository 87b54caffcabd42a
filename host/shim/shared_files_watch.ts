/**
 * Keeps the guest copies of Kubernetes volumes (ConfigMaps, Secrets, projected and downward-API
 * volumes) up to date when there is no shared filesystem, like Kata's watcher for `watchable/`
 * mounts: every `intervalMs` the host tree's fingerprint (names, kinds, sizes, modification
 * times, modes, link targets) is compared with the last one copied, and on a change the whole tree
 * is copied again with CopyFile. The kubelet's atomic writer publishes an update by writing a new
 * `..<timestamp>` directory and then swapping the `..data` symlink; the copy goes in sorted order,
 * so the new directory is in the guest before the link points at it. Files deleted on the host
 * stay in the guest (CopyFile cannot delete): an old `..<timestamp>` directory lingers there,
 * unreferenced.
 *
 * @module
 */
import { join } from "node:path";
import type { Logger } from "@coco/lib/log";
import { type CopyFileFn, copyTree, type SharedMount } from "./shared_files.ts";

/** A running watcher. */
export interface SharedMountWatcher {
  /** Stops polling; resolves once a copy in progress has finished. */
  stop(): Promise<void>;
}

/** The fingerprint of a host tree; "" when it cannot be read (then nothing is copied). */
export async function treeFingerprint(root: string): Promise<string> {
  const parts: string[] = [];
  const walk = async (path: string, rel: string): Promise<void> => {
    const i = await Deno.lstat(path);
    const kind = i.isSymlink ? `l:${await Deno.readLink(path)}` : i.isDirectory ? "d" : "f";
    parts.push(`${rel}|${kind}|${i.size}|${i.mtime?.getTime() ?? 0}|${i.mode ?? 0}`);
    if (!i.isDirectory) return;
    const names: string[] = [];
    for await (const e of Deno.readDir(path)) names.push(e.name);
    for (const n of names.sort()) await walk(join(path, n), `${rel}/${n}`);
  };
  try {
    await walk(root, "");
  } catch {
    return "";
  }
  return parts.join("\n");
}

/**
 * Polls the watchable mounts of one container every `intervalMs`; `undefined` when it has none.
 * The timer is unref'd unless `unref` is false (tests, where nothing else keeps the loop alive).
 */
export async function watchSharedMounts(
  mounts: readonly SharedMount[],
  send: CopyFileFn,
  logger: Logger,
  { intervalMs = 2000, unref = true }: { intervalMs?: number; unref?: boolean } = {},
): Promise<SharedMountWatcher | undefined> {
  const watched = mounts.filter((m) => m.watchable);
  if (watched.length === 0) return undefined;
  const last = new Map<SharedMount, string>();
  for (const m of watched) last.set(m, await treeFingerprint(m.host));
  let busy: Promise<void> | undefined;
  let stopped = false;
  const tick = async () => {
    for (const m of watched) {
      if (stopped) return;
      const now = await treeFingerprint(m.host);
      if (now === "" || now === last.get(m)) continue;
      try {
        await copyTree(send, m.host, m.guest, m.what);
        last.set(m, now);
        logger.info("volume update copied into the guest", { mount: m.what });
      } catch (err) {
        // Mid-update on the host, or the agent is busy: try again at the next tick.
        logger.warn("volume update not copied yet", { mount: m.what, error: err });
      }
    }
  };
  const timer = setInterval(() => {
    if (busy) return; // the previous round is still copying
    busy = tick().finally(() => busy = undefined);
  }, intervalMs);
  if (unref) Deno.unrefTimer(timer); // never what keeps the shim alive
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await busy;
    },
  };
}
