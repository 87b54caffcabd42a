/**
 * Test support: a comparable description of a directory tree (type, mode, owner, content digest
 * or link target, hard-link groups), to check that two unpackers produced the same files.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Describes every entry under `root` by relative path. */
export async function describeTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const inodes = new Map<string, string>();
  const walk = async (dir: string, rel: string) => {
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    for (const name of names) {
      const p = `${dir}/${name}`;
      const r = rel ? `${rel}/${name}` : name;
      const st = await Deno.lstat(p);
      const head = `${(st.mode! & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymlink) out[r] = `symlink ${head} -> ${await Deno.readLink(p)}`;
      else if (st.isDirectory) {
        out[r] = `dir ${head}`;
        await walk(p, r);
      } else if (st.isFile) {
        const h = createHash("sha256");
        for await (const c of (await Deno.open(p)).readable) h.update(c);
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink! > 1 ? inodes.get(key) : undefined;
        if (st.nlink! > 1 && !first) inodes.set(key, r);
        out[r] = `file ${head} ${st.size} ${h.digest("hex").slice(0, 16)}${
          first ? ` link=${first}` : ""
        }`;
      } else {out[r] = `other ${head} ${
          st.isCharDevice ? "char" : st.isFifo ? "fifo" : "?"
        } ${st.rdev}`;}
    }
  };
  await walk(root, "");
  return out;
}
