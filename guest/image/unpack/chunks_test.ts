/**
 * Tests for the chunk reader's byte-stream path (BYOB reads into two reused buffers, with
 * read-ahead): what the tar reader returns must not depend on how the stream is cut, and
 * metadata kept from earlier chunks must survive the reuse of their buffers.
 */
import assert from "node:assert/strict";
import { BYOB_CHUNK, ChunkReader } from "./_chunks.ts";
import { UnpackError } from "./errors.ts";
import { type TarEntry, TarReader } from "./tar_reader.ts";
import { concat, tar, type TarSpec } from "./_test_tar.ts";

/** A byte stream (`type: "bytes"`) answering each BYOB request with at most `step` bytes. */
function byteStreamOf(b: Uint8Array, step: number, failAt = Infinity): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    type: "bytes",
    pull(c) {
      const req = c.byobRequest!;
      if (off >= failAt) return c.error(new Error("connection reset"));
      if (off >= b.length) {
        c.close();
        return req.respond(0);
      }
      const view = req.view!;
      const n = Math.min(step, view.byteLength, b.length - off);
      new Uint8Array(view.buffer, view.byteOffset, n).set(b.subarray(off, off + n));
      off += n;
      req.respond(n);
    },
  });
}

async function readEntries(s: ReadableStream<Uint8Array>): Promise<[TarEntry, string][]> {
  const input = new ChunkReader(s);
  const r = new TarReader(input);
  const out: [TarEntry, string][] = [];
  try {
    for (let e = await r.next(); e; e = await r.next()) {
      const parts: Uint8Array[] = [];
      for await (const c of r.body()) parts.push(c.slice());
      out.push([e, new TextDecoder().decode(concat(parts))]);
    }
  } finally {
    await input.cancel(undefined);
  }
  return out;
}

const xattr = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
const specs: TarSpec[] = [
  { name: "a/", mode: 0o755 },
  { name: "a/" + "n".repeat(200), gnuLong: true, data: "long" },
  { name: "x", data: "with xattrs", pax: { "SCHILY.xattr.user.big": xattr, mtime: "12.25" } },
  { name: "big", data: "z".repeat(BYOB_CHUNK + 17) },
  { name: "after", type: "2", linkname: "big" },
];

Deno.test("ChunkReader reads byte streams with BYOB buffers; kept metadata survives buffer reuse", async () => {
  const b = tar(specs);
  for (const step of [13, 511, 4096, BYOB_CHUNK]) {
    const got = await readEntries(byteStreamOf(b, step));
    assert.deepEqual(got.map(([e, d]) => [e.path, e.type, d.length]), [
      ["a/", "dir", 0],
      ["a/" + "n".repeat(200), "file", 4],
      ["x", "file", 11],
      ["big", "file", BYOB_CHUNK + 17],
      ["after", "symlink", 0],
    ], `step ${step}`);
    // Read after every later chunk: a view of a reused buffer would have changed or emptied.
    assert.deepEqual(got[2]![0].xattrs.get("user.big"), xattr, `step ${step}`);
    assert.deepEqual(got[2]![0].mtime, { sec: 12, nsec: 250_000_000 });
  }
});

Deno.test("ChunkReader reports a byte stream failing mid-way as bad_stream", async () => {
  const b = tar(specs);
  await assert.rejects(readEntries(byteStreamOf(b, 1000, 5000)), (e: unknown) => {
    assert.ok(e instanceof UnpackError);
    assert.equal(e.code, "bad_stream");
    return true;
  });
});
