/**
 * unpackLayer(): every entry type, ownership, modes, xattrs, times, whiteouts in both modes,
 * options and the incomplete-marker contract. Needs root (lchown, mknod, trusted.* xattrs,
 * overlay mount); reports SKIPPED otherwise.
 */
import assert from "node:assert/strict";
import { loadSys, makedev, mount, umount, UmountFlags } from "@coco/lib/sys";
import { isRoot } from "../../../tests/peers.ts";
import { isIncomplete, UnpackError, unpackLayer } from "./mod.ts";
import { scratch, snapshot } from "./_test_fs.ts";
import { streamOf, tar, type TarSpec } from "./_test_tar.ts";

loadSys();
const root = isRoot();
function test(name: string, fn: () => Promise<void>) {
  if (!root) console.log(`SKIPPED ${name}: needs root (lchown, mknod, trusted.* xattrs)`);
  Deno.test({ name, ignore: !root, fn });
}

const T = 1_600_000_000;
const layer = (specs: TarSpec[]) => streamOf(tar(specs), 777);

test("unpackLayer() creates every entry type with owners, modes, xattrs and times", async () => {
  await using s = await scratch();
  const archive = tar([
    { name: "./", mode: 0o751, uid: 0, mtime: T - 9 },
    { name: "bin/", mode: 0o750, uid: 1000, gid: 1001, mtime: T - 1 },
    { name: "bin/su", data: "#!", mode: 0o4755, uid: 0, gid: 0, mtime: T - 2 },
    { name: "bin/sg", data: "sg", mode: 0o2711, uid: 1000, gid: 50, mtime: T - 3 },
    { name: "tmp/", mode: 0o1777, mtime: T - 4 },
    { name: "bin/sh", type: "2", linkname: "/bin/su", uid: 1000, gid: 1000, mtime: T - 5 },
    { name: "bin/su2", type: "1", linkname: "bin/su" },
    { name: "dev/null", type: "3", devmajor: 1, devminor: 3, mode: 0o666, mtime: T - 6 },
    { name: "dev/sda", type: "4", devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
    { name: "run/fifo", type: "6", mode: 0o620, mtime: T - 7 },
    {
      name: "cap",
      data: "x",
      pax: { "SCHILY.xattr.user.note": "hi", "SCHILY.xattr.trusted.t": "v", mtime: `${T}.25` },
    },
  ]);
  const stats = await unpackLayer(streamOf(archive, 777), s.target);
  const got = snapshot(s.target);
  const ms = (t: number) => t * 1000;
  assert.deepEqual(got["bin"], {
    type: "dir",
    mode: 0o750,
    uid: 1000,
    gid: 1001,
    mtime: ms(T - 1),
  });
  assert.deepEqual(got["bin/su"], {
    type: "file",
    mode: 0o4755,
    uid: 0,
    gid: 0,
    mtime: ms(T - 2),
    data: "#!",
    nlink: 2,
  });
  assert.equal(got["bin/su2"]!.nlink, 2);
  assert.equal(Deno.lstatSync(`${s.target}/bin/su2`).ino, Deno.lstatSync(`${s.target}/bin/su`).ino);
  assert.deepEqual([got["bin/sg"]!.mode, got["bin/sg"]!.uid, got["bin/sg"]!.gid], [
    0o2711,
    1000,
    50,
  ]);
  assert.equal(got["tmp"]!.mode, 0o1777);
  assert.deepEqual(got["bin/sh"], {
    type: "symlink",
    mode: 0o777,
    uid: 1000,
    gid: 1000,
    mtime: ms(T - 5),
    link: "/bin/su",
  });
  assert.deepEqual([got["dev/null"]!.type, got["dev/null"]!.rdev, got["dev/null"]!.mode], [
    "char",
    Number(makedev(1, 3)),
    0o666,
  ]);
  assert.deepEqual([got["dev/sda"]!.type, got["dev/sda"]!.rdev, got["dev/sda"]!.gid], [
    "block",
    Number(makedev(8, 0)),
    6,
  ]);
  assert.deepEqual([got["run/fifo"]!.type, got["run/fifo"]!.mode, got["run/fifo"]!.mtime], [
    "fifo",
    0o620,
    ms(T - 7),
  ]);
  assert.deepEqual(got["cap"]!.xattrs, { "trusted.t": "v", "user.note": "hi" });
  assert.equal(got["cap"]!.mtime, ms(T) + 250);
  assert.equal(got["run"]!.mode, 0o755, "implicit parents are 0755");
  const rootSt = Deno.statSync(s.target);
  assert.deepEqual([rootSt.mode! & 0o7777, rootSt.mtime!.getTime()], [0o751, ms(T - 9)]);
  assert.equal(stats.entries, 11);
  assert.equal(stats.bytes, 5);
  assert.equal(stats.archiveBytes, archive.length);
  assert.equal(isIncomplete(s.target), false);
});

const lower: TarSpec[] = [
  { name: "etc/", mtime: T },
  { name: "etc/a", data: "a1" },
  { name: "etc/b", data: "b1" },
  { name: "etc/sub/", mtime: T },
  { name: "etc/sub/deep", data: "d" },
  { name: "opt/", mtime: T },
  { name: "opt/x/", mtime: T },
  { name: "opt/x/old", data: "old" },
  { name: "opt/keep", data: "k" },
  { name: "lib", type: "2", linkname: "usr/lib" },
  { name: "usr/", mtime: T },
  { name: "usr/lib/", mtime: T },
  { name: "usr/lib/libc", data: "c" },
  { name: "file-to-dir", data: "f" },
];
const upper: TarSpec[] = [
  { name: "etc/", mtime: T + 1 },
  { name: "etc/.wh.a" },
  { name: "etc/.wh.sub" },
  { name: "etc/.wh.never-existed" },
  { name: "opt/", mtime: T + 1 },
  { name: "opt/x/", mtime: T + 1 },
  { name: "opt/x/new", data: "new" },
  { name: "opt/.wh..wh..opq" },
  { name: "opt/fresh", data: "fresh" },
  { name: "lib/", mtime: T + 1 },
  { name: "lib/own", data: "own" },
  { name: "file-to-dir/", mtime: T + 1 },
  { name: "usr/", mtime: T + 1 },
  { name: "usr/lib/", mtime: T + 1 },
  { name: "usr/lib/libc", data: "c2" },
];

test("unpackLayer() layer mode writes overlay whiteouts; the overlay mount equals merged mode", async () => {
  await using s = await scratch();
  const [l1, l2, merged, mnt] = ["l1", "l2", "merged", "mnt"].map((d) => `${s.target}/${d}`);
  for (const d of [l1!, l2!, merged!, mnt!]) await Deno.mkdir(d);
  await unpackLayer(layer(lower), l1!);
  const st = await unpackLayer(layer(upper), l2!);
  assert.equal(st.whiteouts, 4);
  const up = snapshot(l2!);
  assert.deepEqual([up["etc/a"]!.type, up["etc/a"]!.rdev, up["etc/a"]!.mode], ["char", 0, 0]);
  assert.equal(up["etc/sub"]!.type, "char");
  assert.equal(up["etc/never-existed"]!.type, "char");
  assert.deepEqual(up["opt"]!.xattrs, { "trusted.overlay.opaque": "y" });
  assert.equal(up["opt/.wh..wh..opq"], undefined, "markers are never extracted");

  await unpackLayer(layer(lower), merged!);
  await unpackLayer(layer(upper), merged!, { mode: "merged" });
  const want = snapshot(merged!);
  assert.equal(want["etc/a"], undefined);
  assert.equal(want["etc/sub"], undefined);
  assert.equal(want["etc/never-existed"], undefined);
  assert.deepEqual(Object.keys(want).filter((k) => k.startsWith("opt/")).sort(), [
    "opt/fresh",
    "opt/x",
    "opt/x/new",
  ]);
  assert.equal(want["lib"]!.type, "dir");
  assert.equal(want["file-to-dir"]!.type, "dir");
  assert.equal(want["usr/lib/libc"]!.data, "c2");

  mount({ source: "overlay", target: mnt!, fstype: "overlay", data: `lowerdir=${l2}:${l1}` });
  try {
    const view = snapshot(mnt!);
    for (const v of Object.values(view)) delete v.xattrs;
    for (const k of Object.keys(want)) assert.deepEqual([k, view[k]], [k, want[k]]);
    assert.deepEqual(view, want);
  } finally {
    umount(mnt!);
  }
});

test("unpackLayer() merged mode replaces files without writing through hard links", async () => {
  await using s = await scratch();
  await unpackLayer(
    layer([{ name: "a", data: "secret" }, { name: "b", type: "1", linkname: "a" }]),
    s.target,
  );
  await unpackLayer(layer([{ name: "b", data: "new" }]), s.target, { mode: "merged" });
  assert.equal(Deno.readTextFileSync(`${s.target}/a`), "secret");
  assert.equal(Deno.readTextFileSync(`${s.target}/b`), "new");
});

test("unpackLayer() maps ids and refuses ids outside the mapping", async () => {
  await using s = await scratch();
  const map = {
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gidMappings: [{ containerID: 0, hostID: 200000, size: 10 }],
  };
  await unpackLayer(layer([{ name: "f", uid: 1000, gid: 5 }]), s.target, map);
  const st = Deno.lstatSync(`${s.target}/f`);
  assert.deepEqual([st.uid, st.gid], [101000, 200005]);
  await assert.rejects(
    unpackLayer(layer([{ name: "g", gid: 10 }]), s.target, map),
    (e: unknown) => e instanceof UnpackError && e.code === "id_unmapped" && e.entry === "g",
  );
});

for (
  const [name, specs, code, entry, opts] of [
    [
      "a device when allowDevices is false",
      [{ name: "dev/x", type: "3", devmajor: 1, devminor: 1 }],
      "device_not_allowed",
      "dev/x",
      { allowDevices: false },
    ],
    [
      "an overlay control xattr",
      [{ name: "d/", pax: { "SCHILY.xattr.trusted.overlay.opaque": "y" } }],
      "forbidden_xattr",
      "d/",
    ],
    ["a duplicate file", [{ name: "f" }, { name: "./f" }], "duplicate_entry", "./f"],
    ["a duplicate directory", [{ name: "d/" }, { name: "d/" }], "duplicate_entry", "d/"],
    [
      "a whiteout of an entry of the same layer",
      [{ name: "f" }, { name: ".wh.f" }],
      "duplicate_entry",
      ".wh.f",
    ],
    ["an entry after its own whiteout", [{ name: ".wh.f" }, { name: "f" }], "duplicate_entry", "f"],
    [
      "a file replacing a directory the layer used",
      [{ name: "d/x" }, { name: "d" }],
      "duplicate_entry",
      "d",
    ],
    ["a non-directory root entry", [{ name: "./", type: "0" }], "duplicate_entry", "./"],
    ["a file inside a whiteout name", [{ name: ".wh.d/x" }], "bad_whiteout", ".wh.d/x"],
    ["aufs metadata", [{ name: ".wh..wh.plnk/1" }], "unsupported_entry", ".wh..wh.plnk/1"],
    ["a path under a file", [{ name: "f" }, { name: "f/x" }], "not_a_directory", "f/x"],
    ["an empty symlink target", [{ name: "l", type: "2" }], "bad_name", "l"],
  ] as [string, TarSpec[], string, string, Record<string, unknown>?][]
) {
  for (const mode of ["layer", "merged"] as const) {
    test(`unpackLayer() (${mode}) rejects ${name} with ${code}`, async () => {
      await using s = await scratch();
      await assert.rejects(unpackLayer(layer(specs), s.target, { mode, ...opts }), (e: unknown) => {
        assert.ok(e instanceof UnpackError, String(e));
        assert.equal(e.code, code, e.message);
        assert.equal(e.entry, entry);
        assert.ok(e.message.includes(JSON.stringify(entry)), e.message);
        return true;
      });
      assert.equal(isIncomplete(s.target), true, "a failed layer stays marked incomplete");
    });
  }
}

test("unpackLayer() refuses invalid options before touching anything", async () => {
  await using s = await scratch();
  await assert.rejects(unpackLayer(layer([]), `${s.target}/missing`), { code: "invalid_options" });
  await assert.rejects(
    unpackLayer(layer([]), s.target, { uidMappings: [{ containerID: -1, hostID: 0, size: 1 }] }),
    { code: "invalid_options" },
  );
  assert.equal(isIncomplete(s.target), false);
});

test("unpackLayer() fails on unsupported xattrs unless told to skip them (ramfs)", async () => {
  await using s = await scratch();
  mount({ source: "ramfs", target: s.target, fstype: "ramfs" });
  try {
    const specs: TarSpec[] = [{ name: "f", pax: { "SCHILY.xattr.user.x": "1" } }];
    await Deno.mkdir(`${s.target}/a`);
    await assert.rejects(unpackLayer(layer(specs), `${s.target}/a`), (e: unknown) => {
      assert.ok(e instanceof UnpackError);
      assert.deepEqual([e.code, e.entry], ["apply_failed", "f"]);
      assert.match(e.message, /lsetxattr.*EOPNOTSUPP/);
      return true;
    });
    await Deno.mkdir(`${s.target}/b`);
    const st = await unpackLayer(layer(specs), `${s.target}/b`, { ignoreUnsupportedXattrs: true });
    assert.equal(st.xattrsSkipped, 1);
    await Deno.mkdir(`${s.target}/c`);
    await assert.rejects(
      unpackLayer(layer([{ name: "d/" }, { name: "d/.wh..wh..opq" }]), `${s.target}/c`),
      { code: "apply_failed", entry: "d/.wh..wh..opq" },
      "an opaque marker that cannot be written is never skipped",
    );
  } finally {
    umount(s.target, UmountFlags.DETACH);
  }
});

test("unpackLayer() applies read-only directory modes after filling them", async () => {
  await using s = await scratch();
  await unpackLayer(
    layer([{ name: "ro/", mode: 0o555, mtime: T }, { name: "ro/f", data: "x" }]),
    s.target,
    { mode: "merged" },
  );
  const st = Deno.lstatSync(`${s.target}/ro`);
  assert.deepEqual([st.mode! & 0o7777, st.mtime!.getTime()], [0o555, T * 1000]);
  assert.equal(Deno.readTextFileSync(`${s.target}/ro/f`), "x");
});
