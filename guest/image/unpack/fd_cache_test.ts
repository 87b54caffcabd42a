/**
 * unpackLayer() with more directories than its directory-fd cache holds: evicted directories
 * are reopened (and still checked for symlinks), and no file descriptor outlives the unpack,
 * whether it succeeds or fails. Runs as any user (ownership off).
 */
import assert from "node:assert/strict";
import { loadSys } from "@coco/lib/sys";
import { UnpackError, unpackLayer } from "./mod.ts";
import { scratch } from "./_test_fs.ts";
import { streamOf, tar, type TarSpec } from "./_test_tar.ts";

loadSys();

const openFds = () => [...Deno.readDirSync("/proc/self/fd")].length;
const DIRS = 300; // more than the cache's 128

/** Two passes over DIRS nested directories, so the second pass finds them evicted. */
function manyDirs(): TarSpec[] {
  const specs: TarSpec[] = [];
  for (const pass of ["a", "b"]) {
    for (let i = 0; i < DIRS; i++) {
      specs.push({ name: `d${i % 7}/sub${i}/${pass}`, data: `${pass}${i}`, mode: 0o640 });
    }
  }
  return specs;
}

Deno.test("unpackLayer() reopens directories evicted from its fd cache and leaks no fd", async () => {
  await using s = await scratch();
  const before = openFds();
  const stats = await unpackLayer(streamOf(tar(manyDirs()), 4096), s.target, {
    ownership: false,
  });
  assert.equal(stats.entries, 2 * DIRS);
  assert.equal(openFds(), before, "every directory fd is closed");
  for (const i of [0, 150, DIRS - 1]) {
    assert.equal(Deno.readTextFileSync(`${s.target}/d${i % 7}/sub${i}/b`), `b${i}`);
    assert.equal(Deno.statSync(`${s.target}/d${i % 7}/sub${i}/a`).mode! & 0o777, 0o640);
  }
});

Deno.test("unpackLayer() refuses a symlink met through an evicted directory and leaks no fd", async () => {
  await using s = await scratch();
  const specs = manyDirs().slice(0, DIRS);
  specs.push({ name: "d0/sub0/link", type: "2", linkname: "/etc" });
  specs.push({ name: "d0/sub0/link/passwd", data: "x" });
  const before = openFds();
  await assert.rejects(
    unpackLayer(streamOf(tar(specs), 4096), s.target, { ownership: false }),
    (e: unknown) => {
      assert.ok(e instanceof UnpackError);
      assert.deepEqual([e.code, e.entry], ["symlink_in_path", "d0/sub0/link/passwd"]);
      return true;
    },
  );
  assert.equal(openFds(), before, "every directory fd is closed after a failure too");
});
