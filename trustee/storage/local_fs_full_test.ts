/**
 * LocalFs on a full disk: a tiny tmpfs mounted for the test (needs root; skipped otherwise).
 * Writes that do not fit fail with an `io` StorageError naming the key and the OS reason, the
 * previous value stays intact, and no temporary file is left behind.
 */
import assert from "node:assert/strict";
import { findPeers, isRoot, requireAlso, skipUnless } from "../../tests/peers.ts";
import { createLocalFsStorage } from "./local_fs.ts";
import { StorageError } from "./errors.ts";

const peers = requireAlso(findPeers("mount", "umount"), isRoot(), "mounting a tmpfs needs root");

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

Deno.test({
  name:
    "LocalFs: set() fails with an io error naming the key and keeps the old value when the disk is full",
  ...skipUnless(peers, "LocalFs disk full (tmpfs)"),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "kv-full-" });
    await run(peers.paths["mount"]!, ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir]);
    try {
      const storage = createLocalFsStorage({ dirPath: dir });
      const ns = storage.namespace("repository");
      const old = new Uint8Array(64 * 1024).fill(1);
      await ns.set("default/key/1", old);
      const big = new Uint8Array(512 * 1024).fill(2);
      await assert.rejects(ns.set("default/key/1", big), (err: unknown) => {
        assert.ok(err instanceof StorageError);
        assert.equal(err.code, "io");
        assert.equal(err.key, "default/key/1");
        assert.match(
          err.message,
          /^Cannot write key "default\/key\/1" in namespace "repository" \(.*\): .*(No space left|space)/i,
        );
        return true;
      });
      assert.deepEqual(await ns.get("default/key/1"), old);
      const names = [];
      for await (const e of Deno.readDir(`${dir}/repository`)) names.push(e.name);
      assert.deepEqual(names, ["default\\x2Fkey\\x2F1"], "no temporary file is left");
      // Space freed by the failed write is usable again.
      await ns.set("default/key/2", new Uint8Array(16 * 1024).fill(3));
      assert.deepEqual((await ns.list()).sort(), ["default/key/1", "default/key/2"]);
      await storage.close();
    } finally {
      await run(peers.paths["umount"]!, [dir]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
