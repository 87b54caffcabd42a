import assert from "node:assert/strict";
import { join } from "node:path";
import { findPeers, skipUnless } from "../../tests/peers.ts";
import { parseVerityParams } from "../../host/vm/rootfs_image.ts";
import {
  buildRootfsImage,
  parseRootHash,
  stage1InitScript,
  verifyRootfsImage,
} from "./rootfs_disk.ts";

const peers = findPeers("mkfs.ext4", "veritysetup");

Deno.test({
  name: "rootfs image: verity parameters verify; one flipped byte anywhere fails",
  ...skipUnless(peers, "rootfs image build"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rootfs-disk-" });
    try {
      const root = join(dir, "root");
      await Deno.mkdir(join(root, "usr/bin"), { recursive: true });
      await Deno.writeFile(join(root, "usr/bin/agent"), new Uint8Array(300_000).fill(7));
      await Deno.writeTextFile(join(root, "init"), "#!/bin/sh\n", { mode: 0o755 });
      const image = join(dir, "rootfs.img");
      const p = await buildRootfsImage(root, image);
      assert.equal(p.hashOffset, p.dataBlocks * p.dataBlockSize);
      assert.ok((await Deno.stat(image)).size > p.hashOffset, "hash tree appended");
      await verifyRootfsImage(image, p);
      // Same inputs, same root hash: reference values can be computed ahead of time.
      const again = join(dir, "again.img");
      assert.equal((await buildRootfsImage(root, again)).rootHash, p.rootHash);
      // The sidecar format host/vm reads round-trips.
      const text = `root_hash=${p.rootHash},salt=${p.salt},data_blocks=${p.dataBlocks},` +
        `data_block_size=4096,hash_block_size=4096,hash_offset=${p.hashOffset}`;
      assert.deepEqual(parseVerityParams(text), p);
      // Tamper with a data block, then with the hash tree.
      for (const at of [p.hashOffset - 4096 * 3 + 17, p.hashOffset + 100]) {
        const f = await Deno.open(image, { read: true, write: true });
        const b = new Uint8Array(1);
        await f.seek(at, Deno.SeekMode.Start);
        await f.read(b);
        await f.seek(at, Deno.SeekMode.Start);
        await f.write(new Uint8Array([b[0]! ^ 0xff]));
        f.close();
        await assert.rejects(verifyRootfsImage(image, p), /veritysetup verify .* failed/);
        await Deno.copyFile(again, image); // restore (same bytes)
        await verifyRootfsImage(image, p);
      }
      await assert.rejects(verifyRootfsImage(image, { ...p, rootHash: "00".repeat(32) }));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("veritysetup output: the root hash is read, anything else is an error", () => {
  assert.equal(
    parseRootHash(`Salt: \t00\nRoot hash:      \t${"a1".repeat(32)}\n`),
    "a1".repeat(32),
  );
  assert.throws(() => parseRootHash("Root hash: xyz\n"), /no root hash/);
});

Deno.test("stage-1 init takes verity parameters from the command line only and fails closed", () => {
  const s = stage1InitScript("6.1.0-test");
  assert.match(s, /coco\.rootfs=\*\)/);
  assert.match(s, /veritysetup open "\$dev" cocoroot "\$dev" "\$hash" --no-superblock/);
  assert.match(s, /fail\(\) \{[^}]*poweroff -f/);
  assert.match(s, /plain\) root="\$dev"/);
  assert.match(s, /\/lib\/modules\/6\.1\.0-test\//);
  assert.match(s, /-o ro "\$root" \/lower/);
});
