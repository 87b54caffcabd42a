/**
 * The sandbox run directory (`<runtime dir>/<sandbox id>`) on the host: the backend pid file
 * and safe removal. Kept apart from the pod and backend modules so the `start` and `delete`
 * actions load neither.
 */
import type { Logger } from "@coco/lib/log";

/** File in the run dir holding the backend pid, for `delete` after a shim crash. */
export const PID_FILE = "backend.pid";

/** Paths of mounts at or below `dir` (from /proc/self/mountinfo). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await Deno.readTextFile("/proc/self/mountinfo").catch(() => "");
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return text.split("\n").map((l) => l.split(" ")[4] ?? "")
    .map((p) => p.replace(/\\040/g, " "))
    .filter((p) => p === dir || p.startsWith(prefix));
}

/** Removes a sandbox run directory, but never while something is still mounted inside it. */
export async function removeRunDir(dir: string, log: Logger): Promise<void> {
  const left = await mountsUnder(dir);
  if (left.length) {
    log.warn("run directory still has mounts; not removing it", { dir, mounts: left });
    return;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
