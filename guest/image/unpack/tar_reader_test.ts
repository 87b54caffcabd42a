/** Tests for the streaming tar reader: formats, extensions, limits and malformed archives. */
import assert from "node:assert/strict";
import { ChunkReader } from "./_chunks.ts";
import { UnpackError, type UnpackErrorCode } from "./errors.ts";
import { parseNumber } from "./tar_header.ts";
import { type TarEntry, TarReader } from "./tar_reader.ts";
import { concat, header, setChecksum, streamOf, tar, type TarSpec } from "./_test_tar.ts";

interface Read {
  entry: TarEntry;
  data: string;
}

async function readAll(b: Uint8Array, chunk?: number, maxPaxBytes = 1 << 20): Promise<Read[]> {
  const input = new ChunkReader(streamOf(b, chunk));
  const r = new TarReader(input, { maxPaxBytes, maxPathBytes: 4096 });
  const out: Read[] = [];
  try {
    for (let e = await r.next(); e; e = await r.next()) {
      const parts: Uint8Array[] = [];
      for await (const c of r.body()) parts.push(c.slice());
      out.push({ entry: e, data: new TextDecoder().decode(concat(parts)) });
    }
    assert.equal(input.consumed, b.length, "the whole stream is consumed");
  } finally {
    await input.cancel(undefined);
  }
  return out;
}

async function rejects(b: Uint8Array, code: UnpackErrorCode, maxPaxBytes?: number) {
  await assert.rejects(readAll(b, undefined, maxPaxBytes), (e: unknown) => {
    assert.ok(e instanceof UnpackError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

const long = "d/" + "x".repeat(150) + "/" + "y".repeat(120);

Deno.test("TarReader reads ustar, GNU long names/links and PAX overrides alike at any chunk size", async () => {
  const specs: TarSpec[] = [
    { name: "dir/", mode: 0o1755, uid: 7, gid: 8, mtime: 1234 },
    { name: "dir/file", data: "hello", mode: 0o4755 },
    { name: long, gnuLong: true, data: "gnu" },
    { name: "l", type: "2", linkname: long, gnuLong: true },
    {
      name: "ignored",
      data: "pax",
      pax: {
        path: "p/" + "z".repeat(300),
        uid: "70000",
        gid: "70001",
        mtime: "1700000000.5",
        "SCHILY.xattr.user.bin": new Uint8Array([0, 255, 10]),
      },
    },
    { name: "c", type: "3", devmajor: 1, devminor: 3 },
  ];
  const b = tar(specs);
  for (const chunk of [b.length, 512, 100, 1]) {
    const got = await readAll(b, chunk);
    assert.deepEqual(got.map((r) => [r.entry.path, r.entry.type, r.data]), [
      ["dir/", "dir", ""],
      ["dir/file", "file", "hello"],
      [long, "file", "gnu"],
      ["l", "symlink", ""],
      ["p/" + "z".repeat(300), "file", "pax"],
      ["c", "char", ""],
    ]);
    assert.equal(got[0]!.entry.mode, 0o1755);
    assert.deepEqual([got[0]!.entry.uid, got[0]!.entry.gid, got[0]!.entry.mtime], [7, 8, {
      sec: 1234,
      nsec: 0,
    }]);
    assert.equal(got[1]!.entry.mode, 0o4755);
    assert.equal(got[3]!.entry.linkname, long);
    const p = got[4]!.entry;
    assert.deepEqual([p.uid, p.gid, p.mtime], [70000, 70001, { sec: 1_700_000_000, nsec: 5e8 }]);
    assert.deepEqual(p.xattrs.get("user.bin"), new Uint8Array([0, 255, 10]));
    assert.deepEqual([got[5]!.entry.devmajor, got[5]!.entry.devminor], [1, 3]);
  }
});

Deno.test("TarReader applies PAX global headers to every later entry; local ones win", async () => {
  const b = tar([{ name: "a" }, { name: "b", pax: { uid: "5" } }], {
    global: { uid: "42", "SCHILY.xattr.user.g": "v", comment: "git" },
  });
  const got = await readAll(b);
  assert.deepEqual(got.map((r) => r.entry.uid), [42, 5]);
  assert.equal(new TextDecoder().decode(got[0]!.entry.xattrs.get("user.g")), "v");
});

Deno.test("TarReader joins the ustar prefix and name; reads base-256 numbers", async () => {
  const h = header({ name: "name", type: "0", size: 0 });
  h.set(new TextEncoder().encode("some/prefix"), 345);
  h.fill(0, 108, 116);
  h[108] = 0x80;
  h[115] = 0x01; // uid 2^0 in base-256 … plus the byte above
  h[114] = 0x01;
  setChecksum(h);
  const got = await readAll(concat([h, new Uint8Array(1024)]));
  assert.equal(got[0]!.entry.path, "some/prefix/name");
  assert.equal(got[0]!.entry.uid, 257);
  const neg = new Uint8Array(12).fill(0xff);
  assert.equal(parseNumber(neg, 0, 12, "mtime", true), -1);
  assert.throws(() => parseNumber(neg, 0, 12, "size"), { code: "bad_header" });
});

Deno.test("TarReader drains padding after the end marker so upstream hashes see every byte", async () => {
  const b = concat([tar([{ name: "a", data: "x" }]), new Uint8Array(8192)]);
  assert.equal((await readAll(b)).length, 1);
});

const bodyOf = tar([{ name: "a", data: "x".repeat(1000) }]);
const badChecksum = tar([{ name: "a", corrupt: (h) => (h[0] = 0x62) }]);
const lone = concat([new Uint8Array(512), header({ name: "a", type: "0", size: 0 })]);

for (
  const [name, b, code, limit] of [
    ["a bad checksum", badChecksum, "bad_checksum"],
    ["a stream cut inside a header", bodyOf.subarray(0, 300), "truncated"],
    ["a stream cut inside contents", bodyOf.subarray(0, 900), "truncated"],
    ["a missing end-of-archive marker", tar([{ name: "a" }], { end: false }), "truncated"],
    ["a lone zero block followed by a header", lone, "bad_header"],
    [
      "a PAX header over the limit",
      tar([{ name: "a", pax: { comment: "x".repeat(5000) } }]),
      "header_too_large",
      4096,
    ],
    [
      "a GNU long name over PATH_MAX",
      tar([{ name: "n".repeat(5000), gnuLong: true }]),
      "header_too_large",
    ],
    ["a PAX path over PATH_MAX", tar([{ name: "a", pax: { path: "n".repeat(5000) } }]), "bad_name"],
    ["a GNU long name holding NUL", tar([{ name: "a\0b", gnuLong: true }]), "bad_name"],
    ["a PAX path holding NUL", tar([{ name: "a", pax: { path: "ok\0../../x" } }]), "bad_name"],
    [
      "a PAX record with a wrong length",
      concat([
        header({ name: "x", type: "x", size: 512 }),
        new TextEncoder().encode("99 path=a\n".padEnd(512, "\0")),
        tar([{ name: "a" }]),
      ]),
      "bad_header",
    ],
    [
      "a non-UTF-8 name",
      tar([{
        name: "\udcff",
        corrupt: (h) => {
          h[0] = 0xff;
          setChecksum(h);
        },
      }]),
      "bad_name",
    ],
    ["a sparse file", tar([{ name: "a", type: "S" }]), "unsupported_entry"],
    [
      "PAX GNU.sparse keys",
      tar([{ name: "a", pax: { "GNU.sparse.major": "1" } }]),
      "unsupported_entry",
    ],
    ["a directory with contents", tar([{ name: "d/", data: "xx" }]), "bad_header"],
    [
      "a global header setting path",
      tar([{ name: "a" }], { global: { path: "evil" } }),
      "bad_header",
    ],
    [
      "two PAX headers in a row",
      concat([
        tar([{ name: "a", pax: { uid: "1" }, type: "x" }], { end: false }),
        tar([{ name: "b", pax: { uid: "2" } }]),
      ]),
      "bad_header",
    ],
    [
      "an extension header before the end marker",
      concat([header({ name: "L", type: "L", size: 0 }), new Uint8Array(1024)]),
      "bad_header",
    ],
    [
      "a non-octal size",
      tar([{
        name: "a",
        corrupt: (h) => {
          h[125] = 0x39;
          setChecksum(h);
        },
      }]),
      "bad_header",
    ],
  ] as [string, Uint8Array, UnpackErrorCode, number?][]
) {
  Deno.test(`TarReader rejects ${name} with ${code}`, () => rejects(b, code, limit));
}

Deno.test("TarReader bounds the total size of retained PAX global records", async () => {
  const globals = Array.from(
    { length: 20 },
    (_, i) => tar([], { end: false, global: { [`SCHILY.xattr.user.k${i}`]: "v".repeat(400) } }),
  );
  await rejects(concat([...globals, tar([{ name: "a" }])]), "header_too_large", 4096);
});

Deno.test("TarReader reports a failing source stream as bad_stream", async () => {
  const s = new ReadableStream<Uint8Array>({ pull: (c) => c.error(new Error("network down")) });
  const input = new ChunkReader(s);
  await assert.rejects(new TarReader(input).next(), { code: "bad_stream" });
  await input.cancel(undefined);
});
