/** File-system helpers shared across the project. */

/** True if `path` exists (any type); false on any stat error. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
