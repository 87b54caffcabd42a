/**
 * Real archives: a tree with long names, hard links, xattrs, a FIFO, a device, setuid/setgid
 * files and foreign owners is archived by GNU tar (gnu and posix formats); unpackLayer() must
 * reproduce the source tree exactly as GNU tar's own extraction does. Needs root and `tar`.
 */
import assert from "node:assert/strict";
import { lchown, loadSys, lsetxattr, lutimes, mknod } from "@coco/lib/sys";
import { findPeers, isRoot, requireAlso, skipUnless } from "../../../tests/peers.ts";
import { unpackLayer } from "./mod.ts";
import { scratch, snapshot } from "./_test_fs.ts";

loadSys();
const peers = requireAlso(findPeers("tar"), isRoot(), "needs root (lchown, mknod, xattrs)");

const T = 1_650_000_000;
const longDir = "deep/" + "d".repeat(120) + "/" + "e".repeat(200);
const longFile = `${longDir}/${"f".repeat(150)}.txt`;

/** Builds the source tree; every time is set last, deepest first. */
function buildTree(src: string, nsec: number): void {
  Deno.mkdirSync(`${src}/${longDir}`, { recursive: true });
  Deno.writeTextFileSync(`${src}/${longFile}`, "long name contents");
  Deno.mkdirSync(`${src}/bin`);
  Deno.writeTextFileSync(`${src}/bin/suid`, "suid");
  lchown(`${src}/bin/suid`, 0, 0);
  Deno.chmodSync(`${src}/bin/suid`, 0o4755);
  Deno.writeTextFileSync(`${src}/bin/sgid`, "sgid");
  lchown(`${src}/bin/sgid`, 1234, 5678);
  Deno.chmodSync(`${src}/bin/sgid`, 0o2750);
  Deno.linkSync(`${src}/bin/suid`, `${src}/bin/suid-link`);
  Deno.linkSync(`${src}/${longFile}`, `${src}/bin/long-link`);
  Deno.symlinkSync("../" + longFile, `${src}/bin/long-sym`);
  lchown(`${src}/bin/long-sym`, 42, 43);
  mknod(`${src}/fifo`, "fifo", { mode: 0o640 });
  mknod(`${src}/null`, "char", { mode: 0o666, major: 1, minor: 3 });
  Deno.chmodSync(`${src}/null`, 0o666);
  Deno.writeTextFileSync(`${src}/attrs`, "x");
  lsetxattr(`${src}/attrs`, "user.comment", "hello");
  lsetxattr(`${src}/attrs`, "trusted.bin", new Uint8Array([1, 2, 3]));
  Deno.mkdirSync(`${src}/sticky`);
  Deno.chmodSync(`${src}/sticky`, 0o1777);
  const all: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) walk(p);
      all.push(p);
    }
  };
  walk(src);
  all.forEach((p, i) => lutimes(p, { sec: T + i, nsec }, { sec: T + i, nsec }));
}

for (const format of ["gnu", "posix"]) {
  Deno.test({
    name: `unpackLayer() reproduces a GNU tar --format=${format} archive like tar -x does`,
    ...skipUnless(peers, `gnu tar ${format}`),
    fn: async () => {
      await using s = await scratch();
      const [src, ours, theirs] = ["src", "ours", "theirs"].map((d) => `${s.target}/${d}`);
      for (const d of [src!, ours!, theirs!]) Deno.mkdirSync(d);
      // The gnu format keeps whole seconds; PAX keeps the fraction.
      buildTree(src!, format === "posix" ? 250_000_000 : 0);
      const archive = `${s.base}/layer.tar`;
      const xattrs = ["--xattrs", "--xattrs-include=*"];
      const create = await new Deno.Command(peers.paths["tar"]!, {
        args: [`--format=${format}`, ...xattrs, "--numeric-owner", "-C", src!, "-cf", archive, "."],
      }).output();
      assert.ok(create.success, new TextDecoder().decode(create.stderr));
      const extract = await new Deno.Command(peers.paths["tar"]!, {
        args: [...xattrs, "--numeric-owner", "--same-owner", "-p", "-C", theirs!, "-xf", archive],
      }).output();
      assert.ok(extract.success, new TextDecoder().decode(extract.stderr));

      const file = await Deno.open(archive);
      const stats = await unpackLayer(file.readable, ours!);
      const want = snapshot(src!);
      assert.deepEqual(snapshot(ours!), want);
      assert.deepEqual(snapshot(theirs!), want);
      assert.equal(stats.archiveBytes, Deno.statSync(archive).size);
      assert.equal(stats.entries, Object.keys(want).length + 1, "every member plus ./");
      // Spot checks, so a snapshot bug cannot hide a missing feature.
      assert.equal(want["bin/suid"]!.mode, 0o4755);
      assert.equal(want["bin/suid"]!.nlink, 2);
      assert.deepEqual([want["bin/sgid"]!.mode, want["bin/sgid"]!.uid], [0o2750, 1234]);
      assert.deepEqual(want["attrs"]!.xattrs, {
        "trusted.bin": "\x01\x02\x03",
        "user.comment": "hello",
      });
      assert.equal(want["fifo"]!.type, "fifo");
      assert.equal(want["bin/long-sym"]!.uid, 42);
      assert.ok(want[longFile]);
      assert.equal(want["fifo"]!.mtime % 1000, format === "posix" ? 250 : 0);
      assert.ok(want["fifo"]!.mtime >= T * 1000);
    },
  });
}
