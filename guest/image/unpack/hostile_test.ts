/**
 * Hostile layers: each crafted archive must be rejected with a code naming the entry, and the
 * sentinel outside the target (and everything else outside it) must be untouched — in both
 * layer and merged mode. Needs root (the layers carry ownership); SKIPPED otherwise.
 */
import assert from "node:assert/strict";
import { loadSys } from "@coco/lib/sys";
import { isRoot } from "../../../tests/peers.ts";
import { UnpackError, type UnpackErrorCode, unpackLayer } from "./mod.ts";
import { type Scratch, scratch } from "./_test_fs.ts";
import { concat, header, streamOf, tar, type TarSpec } from "./_test_tar.ts";

loadSys();
const root = isRoot();

interface Case {
  name: string;
  /** Archive members; `O` stands for the absolute path of the outside directory. */
  specs: (O: string) => TarSpec[];
  code: UnpackErrorCode;
  /** The entry the error must name (undefined: a header error, named by position). */
  entry: ((O: string) => string) | string | undefined;
  /** Earlier layers already in the target (applied in merged mode first). */
  lower?: (O: string) => TarSpec[];
  raw?: (O: string) => Uint8Array;
}

const rel = (O: string) => O.slice(1);
const sym = (name: string, linkname: string): TarSpec => ({ name, type: "2", linkname });

const CASES: Case[] = [
  { name: "../x", specs: () => [{ name: "../x" }], code: "unsafe_path", entry: "../x" },
  {
    name: "a/../../x",
    specs: () => [{ name: "a/../../x" }],
    code: "unsafe_path",
    entry: "a/../../x",
  },
  {
    name: "symlink a -> / then a/<outside>/x",
    specs: (O) => [sym("a", "/"), { name: `a/${rel(O)}/x`, data: "evil" }],
    code: "symlink_in_path",
    entry: (O) => `a/${rel(O)}/x`,
  },
  {
    name: "symlink to .. chains",
    specs: () => [sym("a", "."), sym("b", "a/.."), sym("c", "b/../.."), { name: "c/outside/x" }],
    code: "symlink_in_path",
    entry: "c/outside/x",
  },
  {
    name: "symlink ../.. then a write through it",
    specs: () => [sym("up", "../.."), { name: "up/outside/sentinel", data: "evil" }],
    code: "symlink_in_path",
    entry: "up/outside/sentinel",
  },
  {
    name: "hard link to /etc/shadow",
    specs: () => [{ name: "shadow", type: "1", linkname: "/etc/shadow" }],
    code: "unsafe_link",
    entry: "shadow",
  },
  {
    name: "hard link to ../outside/sentinel",
    specs: () => [{ name: "h", type: "1", linkname: "../outside/sentinel" }],
    code: "unsafe_link",
    entry: "h",
  },
  {
    name: "hard link through a symlink",
    specs: (O) => [sym("l", O), { name: "h", type: "1", linkname: "l/sentinel" }],
    code: "symlink_in_path",
    entry: "h",
  },
  {
    name: "hard link placed through a symlink",
    specs: (O) => [{ name: "f" }, sym("l", O), { name: "l/h", type: "1", linkname: "f" }],
    code: "symlink_in_path",
    entry: "l/h",
  },
  {
    name: "a symlink replacing a directory mid-layer, then a write through it",
    specs: (O) => [{ name: "d/" }, sym("d", O), { name: "d/x", data: "evil" }],
    code: "duplicate_entry",
    entry: "d",
  },
  {
    name: "a symlink replacing a lower directory, then a write through it",
    lower: () => [{ name: "d/" }],
    specs: (O) => [sym("d", O), { name: "d/x", data: "evil" }],
    code: "symlink_in_path",
    entry: "d/x",
  },
  {
    name: "a write through a symlink from a lower layer",
    lower: (O) => [sym("evil", O)],
    specs: () => [{ name: "evil/sentinel", data: "evil" }],
    code: "symlink_in_path",
    entry: "evil/sentinel",
  },
  {
    name: "a PAX path override to ../",
    specs: () => [{ name: "safe", data: "evil", pax: { path: "../outside/sentinel" } }],
    code: "unsafe_path",
    entry: "../outside/sentinel",
  },
  {
    name: "a PAX linkpath override out of the target",
    specs:
      () => [{ name: "h", type: "1", linkname: "ok", pax: { linkpath: "../outside/sentinel" } }],
    code: "unsafe_link",
    entry: "h",
  },
  {
    name: "a giant PAX header",
    specs: () => [],
    raw: () =>
      concat([
        tar([{ name: "before" }], { end: false }),
        header({ name: "x", type: "x", size: 100 << 20 }),
      ]),
    code: "header_too_large",
    entry: undefined,
  },
  {
    name: "a truncated archive",
    specs: () => [],
    raw: () => tar([{ name: "before" }, { name: "big", data: "x".repeat(4000) }]).subarray(0, 2048),
    code: "truncated",
    entry: "big",
  },
  {
    name: "a bad checksum",
    specs: () => [{ name: "before" }, { name: "x", corrupt: (h) => (h[1] = 0x41) }],
    code: "bad_checksum",
    entry: undefined,
  },
  {
    name: "a whiteout of ..",
    specs: () => [{ name: "d/.wh..." }],
    code: "bad_whiteout",
    entry: "d/.wh...",
  },
  {
    name: "a whiteout of .",
    specs: () => [{ name: ".wh.." }],
    code: "bad_whiteout",
    entry: ".wh..",
  },
  {
    name: "a whiteout outside",
    specs: () => [{ name: "../outside/.wh.sentinel" }],
    code: "unsafe_path",
    entry: "../outside/.wh.sentinel",
  },
  {
    name: "a whiteout through a symlink",
    specs: (O) => [sym("l", O), { name: "l/.wh.sentinel" }],
    code: "symlink_in_path",
    entry: "l/.wh.sentinel",
  },
  {
    name: "an opaque marker through a symlink",
    specs: (O) => [sym("l", O), { name: "l/.wh..wh..opq" }],
    code: "symlink_in_path",
    entry: "l/.wh..wh..opq",
  },
  {
    name: "a whiteout through a lower symlink",
    lower: (O) => [sym("l", O)],
    specs: () => [{ name: "l/.wh.sentinel" }],
    code: "symlink_in_path",
    entry: "l/.wh.sentinel",
  },
  {
    name: "hard link to a directory",
    specs: () => [{ name: "d/" }, { name: "h", type: "1", linkname: "d" }],
    code: "unsafe_link",
    entry: "h",
  },
  {
    name: "a link name with NUL",
    specs: () => [{ name: "s", type: "2", linkname: "x", pax: { linkpath: "ok\0/../../x" } }],
    code: "bad_name",
    entry: "ok\\0/../../x",
  },
  {
    name: "a filename with NUL",
    specs: () => [{ name: "a", pax: { path: "a\0/../../x" } }],
    code: "bad_name",
    entry: "a\\0/../../x",
  },
];

async function outsideUntouched(s: Scratch): Promise<void> {
  assert.equal(await Deno.readTextFile(s.sentinel), "keep me");
  assert.deepEqual([...Deno.readDirSync(s.outside)].map((e) => e.name), ["sentinel"]);
  const base = [...Deno.readDirSync(s.base)].map((e) => e.name).sort();
  assert.deepEqual(base.filter((n) => n !== "target.incomplete"), ["outside", "target"]);
}

for (const c of CASES) {
  for (const mode of ["layer", "merged"] as const) {
    const name = `unpackLayer() (${mode}) rejects ${c.name} and touches nothing outside`;
    if (!root) console.log(`SKIPPED ${name}: needs root`);
    Deno.test({
      name,
      ignore: !root,
      fn: async () => {
        await using s = await scratch();
        if (c.lower) await unpackLayer(streamOf(tar(c.lower(s.outside))), s.target);
        const bytes = c.raw ? c.raw(s.outside) : tar(c.specs(s.outside));
        await assert.rejects(
          unpackLayer(streamOf(bytes, 1000), s.target, { mode }),
          (e: unknown) => {
            assert.ok(e instanceof UnpackError, String(e));
            assert.equal(e.code, c.code, e.message);
            const entry = typeof c.entry === "function" ? c.entry(s.outside) : c.entry;
            assert.equal(e.entry, entry, e.message);
            if (entry !== undefined) {
              assert.ok(e.message.includes(JSON.stringify(entry)), e.message);
            } else assert.match(e.message, /at byte \d+, after entry "before"/);
            return true;
          },
        );
        await outsideUntouched(s);
      },
    });
  }
}

const successName = "unpackLayer() keeps absolute and replacing entries inside the target";
if (!root) console.log(`SKIPPED ${successName}: needs root`);
Deno.test({
  name: successName,
  ignore: !root,
  fn: async () => {
    await using s = await scratch();
    const passwd = await Deno.readFile("/etc/passwd");
    await unpackLayer(
      streamOf(tar([
        sym("to-sentinel", s.sentinel),
        sym("dir-link", s.outside),
        { name: "hl", type: "1", linkname: "to-sentinel" },
      ])),
      s.target,
    );
    assert.equal(
      Deno.readLinkSync(`${s.target}/hl`),
      s.sentinel,
      "a hard link to a symlink is a symlink",
    );
    await unpackLayer(
      streamOf(tar([
        { name: "/etc/passwd", data: "evil", mode: 0o777 },
        { name: "to-sentinel", data: "evil" },
        { name: "dir-link/", mode: 0o700 },
        { name: "dir-link/x", data: "inside" },
      ])),
      s.target,
      { mode: "merged" },
    );
    assert.deepEqual(await Deno.readFile("/etc/passwd"), passwd);
    assert.equal(await Deno.readTextFile(`${s.target}/etc/passwd`), "evil");
    assert.equal(Deno.lstatSync(`${s.target}/to-sentinel`).isFile, true);
    assert.equal(Deno.lstatSync(`${s.target}/dir-link`).isDirectory, true);
    assert.equal(await Deno.readTextFile(`${s.target}/dir-link/x`), "inside");
    await outsideUntouched(s);
  },
});
