/** Disk usage of a directory tree (bytes in allocated blocks, distinct inodes), like `du`. */
import { join } from "node:path";

/** Size and inode count of everything under `dir`; 0/0 when it does not exist. */
export async function diskUsage(dir: string): Promise<{ size: number; inodes: number }> {
  const seen = new Set<number>();
  let size = 0;
  const visit = async (path: string) => {
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return;
      throw err;
    }
    const ino = st.ino ?? -seen.size - 1;
    if (!seen.has(ino)) {
      seen.add(ino);
      size += st.blocks !== null && st.blocks !== undefined ? st.blocks * 512 : st.size;
    }
    if (st.isDirectory) {
      for await (const e of Deno.readDir(path)) await visit(join(path, e.name));
    }
  };
  await visit(dir);
  return { size, inodes: seen.size };
}
