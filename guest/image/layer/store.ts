/**
 * Content-addressed layer store: each unpacked layer lives in `<root>/layers/<alg>-<hex>` named by
 * its diff_id, and appears there only by an atomic rename once every check has passed. An
 * in-progress layer lives in `<root>/layers/.tmp-*` and is removed on failure (and swept at
 * start-up), so a directory under a diff_id name is always complete and verified.
 *
 * @module
 */
import type { Digest } from "@coco/lib/oci";
import { pathExists } from "@coco/lib/fs";

/** The layer store rooted at a work directory. */
export class LayerStore {
  readonly root: string;
  readonly layersDir: string;

  constructor(root: string) {
    this.root = root;
    this.layersDir = `${root}/layers`;
  }

  /** Creates the directories and removes leftovers of interrupted pulls. */
  async init(): Promise<void> {
    await Deno.mkdir(this.layersDir, { recursive: true, mode: 0o700 });
    for await (const e of Deno.readDir(this.layersDir)) {
      if (e.name.startsWith(".tmp-")) {
        await Deno.remove(`${this.layersDir}/${e.name}`, { recursive: true }).catch(() => {});
      }
    }
  }

  /** Where the layer with `diffId` lives once committed. */
  path(diffId: Digest): string {
    return `${this.layersDir}/${diffId.replace(":", "-")}`;
  }

  /** True when a verified layer with `diffId` is present. */
  has(diffId: Digest): Promise<boolean> {
    return pathExists(this.path(diffId));
  }

  /** A fresh empty directory to unpack into. */
  async begin(): Promise<string> {
    return await Deno.makeTempDir({ dir: this.layersDir, prefix: ".tmp-" });
  }

  /** Publishes `tmp` as the layer `diffId` (a concurrent identical commit wins harmlessly). */
  async commit(tmp: string, diffId: Digest): Promise<string> {
    const dest = this.path(diffId);
    try {
      await Deno.rename(tmp, dest);
    } catch (e) {
      if (!(await this.has(diffId))) throw e;
      await this.abort(tmp);
    }
    return dest;
  }

  /** Removes an unfinished layer directory and the unpacker's `.incomplete` marker beside it. */
  async abort(tmp: string): Promise<void> {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    await Deno.remove(`${tmp}.incomplete`).catch(() => {});
  }
}
