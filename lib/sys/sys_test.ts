/**
 * Tests for lib/sys: each call against a private tmpfs mounted in a temp dir (root only; the
 * root-only tests report SKIPPED with the reason otherwise).
 */
import assert from "node:assert/strict";
import { isRoot } from "../../tests/peers.ts";
import {
  chmod,
  lchown,
  lgetxattr,
  llistxattr,
  loadSys,
  lremovexattr,
  lsetxattr,
  lstatKind,
  lutimes,
  makedev,
  mknod,
  mount,
  MountFlags,
  reboot,
  type RebootCommand,
  sync,
  SysError,
  umount,
  UmountFlags,
} from "./mod.ts";

// Loaded outside any test, so the resource sanitizer does not count the library as a leak.
loadSys();
const root = isRoot();
function rootOnly(name: string): { ignore: boolean } {
  if (!root) console.log(`SKIPPED ${name}: needs root (mount, mknod, lchown)`);
  return { ignore: !root };
}

/** Runs `fn` with a fresh tmpfs mounted on a temp dir, always unmounted and removed after. */
async function withTmpfs(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sys_test_" });
  mount({ source: "tmpfs", target: dir, fstype: "tmpfs", data: "size=4m,mode=0755" });
  try {
    await fn(dir);
  } finally {
    umount(dir, UmountFlags.DETACH);
    await Deno.remove(dir, { recursive: true });
  }
}

function fsType(dir: string): string | undefined {
  const line = Deno.readTextFileSync("/proc/self/mounts").split("\n")
    .find((l) => l.split(" ")[1] === dir);
  return line?.split(" ")[2];
}

Deno.test({
  name: "mount() mounts a tmpfs and umount() removes it; ro bind remount refuses writes",
  ...rootOnly("mount()"),
  fn: async () => {
    await withTmpfs(async (dir) => {
      assert.equal(fsType(dir), "tmpfs");
      await Deno.mkdir(`${dir}/src`);
      await Deno.mkdir(`${dir}/ro`);
      mount({ source: `${dir}/src`, target: `${dir}/ro`, fstype: "", flags: MountFlags.BIND });
      mount({
        source: "",
        target: `${dir}/ro`,
        fstype: "",
        flags: MountFlags.BIND | MountFlags.REMOUNT | MountFlags.RDONLY,
      });
      assert.throws(() => Deno.writeTextFileSync(`${dir}/ro/x`, "x"), { code: "EROFS" });
      umount(`${dir}/ro`);
      Deno.writeTextFileSync(`${dir}/ro/x`, "x");
    });
  },
});

Deno.test("umount() of a path that is not a mount point throws SysError EINVAL naming it", () => {
  if (!root) {
    return void console.log("SKIPPED umount error: needs root for EINVAL (EPERM otherwise)");
  }
  const dir = Deno.makeTempDirSync();
  try {
    assert.throws(() => umount(dir), (e: unknown) => {
      assert.ok(e instanceof SysError);
      assert.equal(e.code, "EINVAL");
      assert.equal(e.call, "umount2");
      assert.equal(e.path, dir);
      assert.match(e.message, /umount2\(".*"\) failed: EINVAL/);
      return true;
    });
  } finally {
    Deno.removeSync(dir);
  }
});

Deno.test("calls refuse arguments holding NUL before reaching libc", () => {
  assert.throws(() => lchown("/tmp/a\0b", 0, 0), (e: unknown) => {
    assert.ok(e instanceof SysError);
    assert.equal(e.code, "EINVAL_ARG");
    assert.equal(e.call, "lchown");
    return true;
  });
});

Deno.test({
  name: "mknod() creates char and block devices with major/minor and FIFOs",
  ...rootOnly("mknod()"),
  fn: async () => {
    await withTmpfs((dir) => {
      mknod(`${dir}/null`, "char", { mode: 0o666, major: 1, minor: 3 });
      mknod(`${dir}/blk`, "block", { mode: 0o640, major: 259, minor: 300 });
      mknod(`${dir}/fifo`, "fifo", { mode: 0o600 });
      const c = Deno.lstatSync(`${dir}/null`);
      assert.equal(c.isCharDevice, true);
      assert.equal(c.rdev, Number(makedev(1, 3)));
      const b = Deno.lstatSync(`${dir}/blk`);
      assert.equal(b.isBlockDevice, true);
      assert.equal(b.rdev, Number(makedev(259, 300)));
      assert.equal(Deno.lstatSync(`${dir}/fifo`).isFifo, true);
      assert.throws(() => mknod(`${dir}/fifo`, "fifo", { mode: 0o600 }), { code: "EEXIST" });
    });
  },
});

Deno.test("makedev() matches glibc's encoding for large numbers", () => {
  assert.equal(makedev(0, 0), 0n);
  assert.equal(makedev(8, 1), 0x801n);
  assert.equal(makedev(0x12345, 0x6789a), 0x120006783459an);
});

Deno.test({
  name: "lchown() changes a symlink itself; chmod() keeps setuid/setgid/sticky",
  ...rootOnly("lchown()"),
  fn: async () => {
    await withTmpfs((dir) => {
      Deno.writeTextFileSync(`${dir}/file`, "x");
      Deno.symlinkSync("file", `${dir}/link`);
      lchown(`${dir}/link`, 1234, 5678);
      assert.equal(Deno.lstatSync(`${dir}/link`).uid, 1234);
      assert.equal(Deno.lstatSync(`${dir}/link`).gid, 5678);
      assert.equal(Deno.lstatSync(`${dir}/file`).uid, 0);
      chmod(`${dir}/file`, 0o7755);
      assert.equal(Deno.lstatSync(`${dir}/file`).mode! & 0o7777, 0o7755);
      assert.throws(() => lchown(`${dir}/missing`, 0, 0), { code: "ENOENT", call: "lchown" });
    });
  },
});

Deno.test({
  name: "lutimes() sets a symlink's own times with nanoseconds, leaving the target alone",
  ...rootOnly("lutimes()"),
  fn: async () => {
    await withTmpfs((dir) => {
      Deno.writeTextFileSync(`${dir}/file`, "x");
      Deno.symlinkSync("file", `${dir}/link`);
      const before = Deno.lstatSync(`${dir}/file`).mtime!.getTime();
      lutimes(`${dir}/link`, { sec: 1000, nsec: 5 }, { sec: 1_600_000_000, nsec: 123_000_000 });
      assert.equal(Deno.lstatSync(`${dir}/link`).mtime!.getTime(), 1_600_000_000_123);
      assert.equal(Deno.lstatSync(`${dir}/link`).atime!.getTime(), 1_000_000);
      assert.equal(Deno.lstatSync(`${dir}/file`).mtime!.getTime(), before);
      lutimes(`${dir}/file`, new Date(86_400_000), 172_800_000);
      assert.equal(Deno.lstatSync(`${dir}/file`).mtime!.getTime(), 172_800_000);
    });
  },
});

Deno.test({
  name: "lsetxattr()/lgetxattr()/llistxattr()/lremovexattr() round-trip binary values",
  ...rootOnly("xattrs"),
  fn: async () => {
    await withTmpfs((dir) => {
      Deno.mkdirSync(`${dir}/d`);
      lsetxattr(`${dir}/d`, "trusted.overlay.opaque", "y");
      const bin = new Uint8Array([0, 1, 2, 255]);
      lsetxattr(`${dir}/d`, "trusted.bin", bin);
      lsetxattr(`${dir}/d`, "trusted.empty", new Uint8Array());
      assert.deepEqual(lgetxattr(`${dir}/d`, "trusted.overlay.opaque"), new Uint8Array([121]));
      assert.deepEqual(lgetxattr(`${dir}/d`, "trusted.bin"), bin);
      assert.deepEqual(lgetxattr(`${dir}/d`, "trusted.empty"), new Uint8Array());
      assert.equal(lgetxattr(`${dir}/d`, "trusted.missing"), undefined);
      assert.deepEqual(
        llistxattr(`${dir}/d`).sort(),
        ["trusted.bin", "trusted.empty", "trusted.overlay.opaque"],
      );
      assert.throws(
        () => lsetxattr(`${dir}/d`, "trusted.bin", "z", "create"),
        { code: "EEXIST", call: "lsetxattr" },
      );
      lremovexattr(`${dir}/d`, "trusted.bin");
      assert.equal(lgetxattr(`${dir}/d`, "trusted.bin"), undefined);
      assert.throws(() => lremovexattr(`${dir}/d`, "trusted.bin"), { code: "ENODATA" });
      Deno.symlinkSync("d", `${dir}/l`);
      assert.deepEqual(llistxattr(`${dir}/l`), []);
    });
  },
});

Deno.test("sync() returns; reboot() with an invalid command fails with a SysError", () => {
  sync();
  assert.throws(() => reboot(0x11111111 as RebootCommand), (e: unknown) => {
    assert.ok(e instanceof SysError);
    assert.equal(e.call, "reboot");
    assert.ok(e.code === "EINVAL" || e.code === "EPERM");
    return true;
  });
});

Deno.test({
  name: "lstatKind() names every node kind without following symlinks; undefined when missing",
  ...rootOnly("lstatKind()"),
  fn: async () => {
    await withTmpfs((dir) => {
      Deno.writeTextFileSync(`${dir}/f`, "x");
      Deno.mkdirSync(`${dir}/d`);
      Deno.symlinkSync("d", `${dir}/l`);
      mknod(`${dir}/c`, "char", { mode: 0o600, major: 1, minor: 3 });
      mknod(`${dir}/b`, "block", { mode: 0o600, major: 7, minor: 0 });
      mknod(`${dir}/p`, "fifo", { mode: 0o600 });
      const kinds = ["f", "d", "l", "c", "b", "p", "missing"].map((n) => lstatKind(`${dir}/${n}`));
      assert.deepEqual(kinds, ["file", "dir", "symlink", "char", "block", "fifo", undefined]);
      assert.throws(() => lstatKind(`${dir}/f/x`), { code: "ENOTDIR", call: "statx" });
    });
  },
});
