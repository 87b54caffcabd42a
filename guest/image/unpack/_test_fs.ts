/**
 * Test helper: temp directories with a target and a sentinel outside it, and a snapshot of a
 * tree (types, modes, owners, times, xattrs, contents) to compare results.
 *
 * @module
 */
import { lgetxattr, llistxattr } from "@coco/lib/sys";

/** A scratch area: `base/target` (unpack here), `base/outside/sentinel` (must never change). */
export interface Scratch {
  base: string;
  target: string;
  outside: string;
  sentinel: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates a {@link Scratch}; dispose removes it. */
export async function scratch(): Promise<Scratch> {
  const base = await Deno.makeTempDir({ prefix: "unpack_test_" });
  await Deno.mkdir(`${base}/target`);
  await Deno.mkdir(`${base}/outside`);
  await Deno.writeTextFile(`${base}/outside/sentinel`, "keep me");
  return {
    base,
    target: `${base}/target`,
    outside: `${base}/outside`,
    sentinel: `${base}/outside/sentinel`,
    async [Symbol.asyncDispose]() {
      await Deno.remove(base, { recursive: true });
    },
  };
}

/** What a test compares for one path. */
export interface NodeInfo {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  link?: string;
  data?: string;
  rdev?: number;
  nlink?: number;
  xattrs?: Record<string, string>;
}

function typeOf(st: Deno.FileInfo): string {
  if (st.isSymlink) return "symlink";
  if (st.isDirectory) return "dir";
  if (st.isFile) return "file";
  if (st.isCharDevice) return "char";
  if (st.isBlockDevice) return "block";
  if (st.isFifo) return "fifo";
  return "other";
}

/** Everything under `dir` (recursively, not following symlinks), keyed by relative path. */
export function snapshot(dir: string, opts: { times?: boolean } = {}): Record<string, NodeInfo> {
  const out: Record<string, NodeInfo> = {};
  const walk = (rel: string) => {
    for (
      const e of [...Deno.readDirSync(rel ? `${dir}/${rel}` : dir)].sort((a, b) =>
        a.name < b.name ? -1 : 1
      )
    ) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const abs = `${dir}/${r}`;
      const st = Deno.lstatSync(abs);
      const info: NodeInfo = {
        type: typeOf(st),
        mode: st.mode! & 0o7777,
        uid: st.uid!,
        gid: st.gid!,
        mtime: opts.times === false ? 0 : st.mtime!.getTime(),
      };
      if (st.isSymlink) info.link = Deno.readLinkSync(abs);
      if (st.isFile) {
        info.data = Deno.readTextFileSync(abs);
        info.nlink = st.nlink!;
      }
      if (st.isCharDevice || st.isBlockDevice) info.rdev = st.rdev!;
      const names = llistxattr(abs).filter((n) => !n.startsWith("security.selinux"));
      if (names.length) {
        info.xattrs = Object.fromEntries(
          names.sort().map((n) => [n, new TextDecoder().decode(lgetxattr(abs, n))]),
        );
      }
      out[r] = info;
      if (st.isDirectory) walk(r);
    }
  };
  walk("");
  return out;
}
