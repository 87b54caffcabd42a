/**
 * Tests for the directory-fd calls (at.ts): each in a temp dir; ownership, devices and trusted
 * xattrs need root and report SKIPPED otherwise.
 */
import assert from "node:assert/strict";
import { isRoot } from "../../tests/peers.ts";
import {
  AtFlags,
  chmodAt,
  closeFdSync,
  cname,
  ERRNO,
  errorOf,
  fchmod,
  fchown,
  fsetxattr,
  futimens,
  kindAt,
  lchownAt,
  lgetxattr,
  loadSys,
  lutimesAt,
  OFlags,
  SysError,
  tryLinkAt,
  tryMkdirAt,
  tryMknodAt,
  tryOpenAt,
  trySymlinkAt,
  tryUnlinkAt,
  writeAllSync,
} from "./mod.ts";

// Loaded outside any test, so the resource sanitizer does not count the library as a leak.
loadSys();
const root = isRoot();

/** Runs `fn` with a temp dir and an `O_PATH` fd on it, both cleaned up after. */
async function withDir(fn: (dir: string, fd: number) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sys_at_test_" });
  const fd = tryOpenAt(AtFlags.FDCWD, dir, OFlags.PATH | OFlags.DIRECTORY);
  assert.ok(fd >= 0, `open ${dir}: ${fd}`);
  try {
    await fn(dir, fd);
  } finally {
    closeFdSync(fd);
    await Deno.remove(dir, { recursive: true });
  }
}

const FILE = OFlags.WRONLY | OFlags.CREAT | OFlags.EXCL | OFlags.NOFOLLOW;

Deno.test("cname() NUL-terminates ASCII in place, encodes UTF-8, and refuses NUL", () => {
  const scratch = new Uint8Array(16).fill(0xff);
  assert.equal(cname("ab", scratch), scratch);
  assert.deepEqual([...scratch.subarray(0, 3)], [0x61, 0x62, 0]);
  assert.deepEqual([...cname("é")], [0xc3, 0xa9, 0]);
  assert.notEqual(cname("x".repeat(16), scratch), scratch, "too long for the scratch buffer");
  assert.throws(() => cname("a\0b"), { code: "EINVAL_ARG" });
});

Deno.test("tryOpenAt() creates exclusively, refuses a final symlink, and writes all bytes", async () => {
  await withDir((dir, dfd) => {
    const fd = tryOpenAt(dfd, "f", FILE, 0o640);
    assert.ok(fd >= 0);
    const data = new Uint8Array(300_000).map((_, i) => i % 251);
    writeAllSync(fd, data.subarray(0, 10));
    writeAllSync(fd, data.subarray(10));
    fchmod(fd, 0o4755);
    futimens(fd, { sec: 1_000_000_000, nsec: 5 }, { sec: -2, nsec: 500_000_000 });
    closeFdSync(fd);
    assert.deepEqual(Deno.readFileSync(`${dir}/f`), data);
    const st = Deno.lstatSync(`${dir}/f`);
    assert.equal(st.mode! & 0o7777, 0o4755);
    assert.equal(st.mtime!.getTime(), -1500, "negative seconds with nanoseconds");
    lutimesAt(dfd, "f", { sec: 0, nsec: 0 }, { sec: 5_000_000_000, nsec: 0 });
    assert.equal(Deno.lstatSync(`${dir}/f`).mtime!.getTime(), 5e12, "seconds past 2^32");
    assert.equal(tryOpenAt(dfd, "f", FILE, 0o600), -ERRNO.EEXIST);
    Deno.symlinkSync("/etc/passwd", `${dir}/l`);
    assert.equal(tryOpenAt(dfd, "l", OFlags.RDONLY | OFlags.NOFOLLOW), -ERRNO.ELOOP);
    const asDir = OFlags.PATH | OFlags.DIRECTORY | OFlags.NOFOLLOW;
    assert.equal(tryOpenAt(dfd, "l", asDir), -ERRNO.ENOTDIR, "a symlink is not a directory");
    assert.equal(tryOpenAt(dfd, "missing", OFlags.RDONLY), -ERRNO.ENOENT);
  });
});

Deno.test("mkdirat, symlinkat, linkat, unlinkat and kindAt() report each kind by name", async () => {
  await withDir((dir, dfd) => {
    assert.equal(tryMkdirAt(dfd, "d", 0o700), 0);
    assert.equal(tryMkdirAt(dfd, "d", 0o700), -ERRNO.EEXIST);
    assert.equal(trySymlinkAt("../../outside", dfd, "s"), 0);
    assert.equal(Deno.readLinkSync(`${dir}/s`), "../../outside", "target stored verbatim");
    assert.equal(tryLinkAt(dfd, "s", dfd, "h"), 0, "a symlink is hard-linked itself");
    assert.equal(Deno.lstatSync(`${dir}/h`).isSymlink, true);
    assert.equal(tryMknodAt(dfd, "p", "fifo", 0o600), 0);
    assert.deepEqual(
      ["d", "s", "h", "p", "none"].map((n) => kindAt(dfd, n)),
      ["dir", "symlink", "symlink", "fifo", undefined],
    );
    assert.equal(tryUnlinkAt(dfd, "d"), -ERRNO.EISDIR);
    assert.equal(tryUnlinkAt(dfd, "d", AtFlags.REMOVEDIR), 0);
    assert.equal(tryUnlinkAt(dfd, "s"), 0);
    assert.equal(kindAt(dfd, "d"), undefined);
    chmodAt(dfd, "p", 0o640);
    lutimesAt(dfd, "h", { sec: 5, nsec: 0 }, { sec: 7, nsec: 500_000_000 });
    assert.equal(Deno.lstatSync(`${dir}/h`).mtime!.getTime(), 7500);
    assert.equal(Deno.lstatSync(`${dir}/p`).mode! & 0o777, 0o640);
  });
});

Deno.test("errorOf() and the throwing calls give a SysError naming the call and the file", async () => {
  await withDir((_dir, dfd) => {
    const e = errorOf(-ERRNO.ENOENT, "openat", "/x/y");
    assert.ok(e instanceof SysError);
    assert.deepEqual([e.code, e.call, e.path, e.errno], ["ENOENT", "openat", "/x/y", 2]);
    assert.match(e.message, /openat\("\/x\/y"\) failed: ENOENT/);
    assert.throws(() => chmodAt(dfd, "missing", 0o600), { code: "ENOENT", call: "fchmodat" });
    assert.throws(() => fchmod(-1, 0o600, "some file"), { code: "EBADF", path: "some file" });
    assert.throws(() => writeAllSync(-1, new Uint8Array(1)), { code: "EBADF", call: "write" });
  });
});

Deno.test({
  name: "fchown, lchownAt, mknodAt devices and fsetxattr apply as root",
  ignore: !root,
  fn: async () => {
    await withDir((dir, dfd) => {
      const fd = tryOpenAt(dfd, "f", FILE, 0o600);
      fchown(fd, 1234, 5678);
      fsetxattr(fd, "trusted.test", new Uint8Array([0, 1, 2]));
      closeFdSync(fd);
      assert.deepEqual([...lgetxattr(`${dir}/f`, "trusted.test")!], [0, 1, 2]);
      trySymlinkAt("f", dfd, "s");
      lchownAt(dfd, "s", 42, 43);
      const [f, s] = [Deno.lstatSync(`${dir}/f`), Deno.lstatSync(`${dir}/s`)];
      assert.deepEqual([f.uid, f.gid, s.uid, s.gid], [1234, 5678, 42, 43]);
      assert.equal(tryMknodAt(dfd, "c", "char", 0, 1, 3), 0);
      const c = Deno.lstatSync(`${dir}/c`);
      assert.deepEqual([c.isCharDevice, c.rdev], [true, (1 << 8) | 3]);
    });
  },
});
if (!root) console.log("SKIPPED fchown/lchownAt/mknodAt/fsetxattr: needs root");
