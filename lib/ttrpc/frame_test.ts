import assert from "node:assert/strict";
import {
  decodeHeader,
  encodeFrame,
  FrameReader,
  FrameWriter,
  MESSAGE_LENGTH_MAX,
  MessageType,
  TruncatedFrameError,
} from "./frame.ts";
import { Code, codeName, TtrpcError } from "./status.ts";
import { bytes } from "./_testing.ts";

/** A stream that yields the given chunks. */
function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks);
}

const healthRequest = bytes(
  "00 00 00 1a  00 00 00 01  01  00",
  "0a 0b",
  { ascii: "grpc.Health" },
  "12 05",
  { ascii: "Check" },
  "20 80 d8 8e e1 6f",
);

Deno.test("encodeFrame() writes the 10-byte big-endian header before the payload", () => {
  const frame = encodeFrame({
    streamId: 1,
    type: MessageType.Request,
    flags: 0,
    payload: healthRequest.subarray(10),
  });
  assert.deepEqual(frame, healthRequest);
});

Deno.test("decodeHeader() reads length, stream id, type and flags", () => {
  assert.deepEqual(decodeHeader(bytes("00 00 00 0f 00 00 00 03 02 00")), {
    length: 15,
    streamId: 3,
    type: 2,
    flags: 0,
  });
  assert.deepEqual(decodeHeader(bytes("00 40 00 00 ff ff ff ff 03 05")), {
    length: 4 << 20,
    streamId: 0xffffffff,
    type: 3,
    flags: 5,
  });
});

Deno.test("encodeFrame() refuses payloads over 4 MiB with RESOURCE_EXHAUSTED", () => {
  const payload = new Uint8Array(MESSAGE_LENGTH_MAX + 1);
  assert.throws(
    () => encodeFrame({ streamId: 1, type: 1, flags: 0, payload }),
    (err: unknown) =>
      err instanceof TtrpcError && err.code === "RESOURCE_EXHAUSTED" && err.status === 8 &&
      err.message === "message length 4194305 exceed maximum message size of 4194304",
  );
  assert.equal(
    encodeFrame({ streamId: 1, type: 1, flags: 0, payload: payload.subarray(1) }).length,
    MESSAGE_LENGTH_MAX + 10,
  );
});

Deno.test("FrameReader.read() reassembles frames split at every byte", async () => {
  const two = new Uint8Array([...healthRequest, ...healthRequest]);
  const chunks = [...two].map((b) => new Uint8Array([b]));
  const reader = new FrameReader(streamOf(chunks));
  for (let i = 0; i < 2; i++) {
    const r = await reader.read();
    assert.equal(r?.kind, "frame");
    if (r?.kind !== "frame") return;
    assert.equal(r.frame.streamId, 1);
    assert.equal(r.frame.type, MessageType.Request);
    assert.deepEqual(r.frame.payload, healthRequest.subarray(10));
  }
  assert.equal(await reader.read(), null);
});

Deno.test("FrameReader.read() returns views into a chunk holding several frames", async () => {
  const chunk = new Uint8Array([...healthRequest, ...healthRequest, ...healthRequest]);
  const reader = new FrameReader(streamOf([chunk]));
  const results = [
    await reader.read(),
    await reader.read(),
    await reader.read(),
    await reader.read(),
  ];
  assert.equal(results[3], null);
  for (const r of results.slice(0, 3)) {
    assert.ok(r?.kind === "frame");
    assert.equal(r.frame.payload.buffer, chunk.buffer, "payload is a view, not a copy");
  }
});

Deno.test("FrameReader.read() discards an oversized payload and stays in sync", async () => {
  const big = new Uint8Array(10 + MESSAGE_LENGTH_MAX + 1);
  new DataView(big.buffer).setUint32(0, MESSAGE_LENGTH_MAX + 1);
  new DataView(big.buffer).setUint32(4, 7);
  big[8] = 1;
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < big.length; at += 65536) chunks.push(big.subarray(at, at + 65536));
  chunks.push(healthRequest);
  const reader = new FrameReader(streamOf(chunks));
  assert.deepEqual(await reader.read(), {
    kind: "oversized",
    header: { length: MESSAGE_LENGTH_MAX + 1, streamId: 7, type: 1, flags: 0 },
  });
  const next = await reader.read();
  assert.ok(next?.kind === "frame");
  assert.equal(next.frame.streamId, 1);
});

Deno.test("FrameReader.read() throws TruncatedFrameError when the stream ends mid-frame", async () => {
  for (const cut of [3, 12]) {
    const reader = new FrameReader(streamOf([healthRequest.subarray(0, cut)]));
    await assert.rejects(reader.read(), TruncatedFrameError);
  }
});

Deno.test("FrameWriter.write() keeps concurrent frames whole and in call order", async () => {
  const seen: Uint8Array[] = [];
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      await Promise.resolve();
      seen.push(chunk);
    },
  });
  const writer = new FrameWriter(writable);
  await Promise.all(
    [1, 3, 5].map((streamId) =>
      writer.write({ streamId, type: 2, flags: 0, payload: new Uint8Array(streamId) })
    ),
  );
  await writer.close();
  assert.deepEqual(seen.map((c) => decodeHeader(c).streamId), [1, 3, 5]);
  assert.deepEqual(seen.map((c) => c.length), [11, 13, 15]);
});

Deno.test("codeName() names status codes and maps unknown numbers to UNKNOWN", () => {
  assert.equal(codeName(Code.OK), "OK");
  assert.equal(codeName(12), "UNIMPLEMENTED");
  assert.equal(codeName(16), "UNAUTHENTICATED");
  assert.equal(codeName(99), "UNKNOWN");
  const err = new TtrpcError(99, "odd");
  assert.equal(err.code, "UNKNOWN");
  assert.equal(err.status, 99);
  assert.equal(err.name, "TtrpcError");
});
