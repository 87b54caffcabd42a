import assert from "node:assert/strict";
import { fromBinary } from "@bufbuild/protobuf";
import { RequestSchema } from "../proto/gen/ttrpc/request_pb.ts";
import {
  GetTokenRequestSchema,
  GetTokenResponseSchema,
} from "../proto/gen/attestation-agent_pb.ts";
import { TtrpcClient } from "./client.ts";
import { FrameReader, FrameWriter, MESSAGE_LENGTH_MAX } from "./frame.ts";
import { TtrpcError } from "./status.ts";
import { type ByteStream, memoryPipe } from "./transport.ts";
import { bytes } from "./_testing.ts";

/** A client on one end of an in-memory pipe and a raw frame peer on the other. */
function setup(): { client: TtrpcClient; peer: ByteStream } & AsyncDisposable {
  const [a, peer] = memoryPipe();
  const client = new TtrpcClient(a);
  return {
    client,
    peer,
    async [Symbol.asyncDispose]() {
      await client.close();
      peer.close();
    },
  };
}

async function readExactly(reader: ReadableStreamDefaultReader<Uint8Array>, n: number) {
  const out: number[] = [];
  while (out.length < n) {
    const { value, done } = await reader.read();
    if (done) break;
    out.push(...value);
  }
  return new Uint8Array(out);
}

function isStatus(code: string, message?: string) {
  return (err: unknown) =>
    err instanceof TtrpcError && err.code === code &&
    (message === undefined || err.message === message);
}

Deno.test("TtrpcClient.callRaw() sends the byte-exact Health/Check request and reads the reply", async () => {
  await using t = setup();
  const reader = t.peer.readable.getReader();
  const writer = t.peer.writable.getWriter();
  const call = t.client.callRaw("grpc.Health", "Check", new Uint8Array(0), { timeoutMs: 30_000 });
  const sent = await readExactly(reader, 36);
  assert.deepEqual(
    sent,
    bytes("00 00 00 1a 00 00 00 01 01 00 0a 0b", { ascii: "grpc.Health" }, "12 05", {
      ascii: "Check",
    }, "20 80 d8 8e e1 6f"),
  );
  await writer.write(bytes("00 00 00 06 00 00 00 01 02 00 0a 00 12 02 08 01"));
  assert.deepEqual(await call, bytes("08 01"));

  const second = t.client.callRaw("grpc.Health", "Check", new Uint8Array(0));
  const header = await readExactly(reader, 10 + 20);
  assert.deepEqual(header.subarray(4, 8), bytes("00 00 00 03"), "second call uses stream 3");
  await writer.write(
    bytes("00 00 00 0f 00 00 00 03 02 00 0a 0d 08 05 12 09", { ascii: "not found" }),
  );
  await assert.rejects(second, isStatus("NOT_FOUND", "not found"));
  reader.releaseLock();
  writer.releaseLock();
});

Deno.test("TtrpcClient.call() treats a Response without status as OK", async () => {
  await using t = setup();
  const peer = new FrameWriter(t.peer.writable);
  const frames = new FrameReader(t.peer.readable);
  const call = t.client.call(
    "attestation_agent.AttestationAgentService",
    "GetToken",
    GetTokenRequestSchema,
    GetTokenResponseSchema,
    { TokenType: "kbs" },
  );
  const req = await frames.read();
  assert.ok(req?.kind === "frame");
  const decoded = fromBinary(RequestSchema, req.frame.payload);
  assert.equal(decoded.method, "GetToken");
  assert.deepEqual(fromBinary(GetTokenRequestSchema, decoded.payload).TokenType, "kbs");
  await peer.write({ streamId: 1, type: 2, flags: 0, payload: bytes("12 03 0a 01 41") });
  const res = await call;
  assert.deepEqual(res.Token, bytes("41"));
});

Deno.test("TtrpcClient.callRaw() refuses a request over 4 MiB without sending or using a stream id", async () => {
  await using t = setup();
  const frames = new FrameReader(t.peer.readable);
  await assert.rejects(
    t.client.callRaw("s", "m", new Uint8Array(MESSAGE_LENGTH_MAX)),
    isStatus("RESOURCE_EXHAUSTED"),
  );
  const ok = t.client.callRaw("s", "m", new Uint8Array(1), { metadata: { a: ["1", "2"], b: "3" } });
  const next = await frames.read();
  assert.ok(next?.kind === "frame");
  assert.equal(next.frame.streamId, 1);
  const req = fromBinary(RequestSchema, next.frame.payload);
  assert.deepEqual(req.metadata.map((kv) => [kv.key, kv.value]), [["a", "1"], ["a", "2"], [
    "b",
    "3",
  ]]);
  assert.equal(req.timeoutNano, 0n);
  await new FrameWriter(t.peer.writable).write({
    streamId: 1,
    type: 2,
    flags: 0,
    payload: new Uint8Array(0),
  });
  assert.deepEqual(await ok, new Uint8Array(0));
});

Deno.test("TtrpcClient.callRaw() rejects with DEADLINE_EXCEEDED at timeoutMs and ignores a late reply", async () => {
  await using t = setup();
  const frames = new FrameReader(t.peer.readable);
  const call = t.client.callRaw("s", "slow", new Uint8Array(0), { timeoutMs: 20 });
  const req = await frames.read();
  assert.ok(req?.kind === "frame");
  assert.equal(fromBinary(RequestSchema, req.frame.payload).timeoutNano, 20_000_000n);
  await assert.rejects(call, isStatus("DEADLINE_EXCEEDED"));
  const peer = new FrameWriter(t.peer.writable);
  await peer.write({ streamId: 1, type: 2, flags: 0, payload: new Uint8Array(0) });
  const after = t.client.callRaw("s", "fast", new Uint8Array(0));
  assert.equal((await frames.read())?.kind, "frame");
  await peer.write({ streamId: 3, type: 2, flags: 0, payload: bytes("12 01 07") });
  assert.deepEqual(await after, bytes("07"));
});

Deno.test("TtrpcClient.callRaw() rejects with CANCELLED when its signal aborts", async () => {
  await using t = setup();
  const frames = new FrameReader(t.peer.readable);
  const ac = new AbortController();
  const call = t.client.callRaw("s", "m", new Uint8Array(0), { signal: ac.signal });
  await frames.read();
  ac.abort();
  await assert.rejects(call, isStatus("CANCELLED"));
  const aborted = AbortSignal.abort();
  await assert.rejects(
    t.client.callRaw("s", "m", new Uint8Array(0), { signal: aborted }),
    isStatus("CANCELLED"),
  );
});

Deno.test("TtrpcClient rejects pending and later calls with UNAVAILABLE when the peer closes", async () => {
  await using t = setup();
  const frames = new FrameReader(t.peer.readable);
  const peer = new FrameWriter(t.peer.writable);
  const calls = [1, 2, 3].map(() => t.client.callRaw("s", "m", new Uint8Array(0)));
  for (let i = 0; i < 3; i++) await frames.read();
  await peer.close();
  for (const call of calls) await assert.rejects(call, isStatus("UNAVAILABLE"));
  await t.client.closed;
  await assert.rejects(t.client.callRaw("s", "m", new Uint8Array(0)), isStatus("UNAVAILABLE"));
  await frames.cancel();
});

Deno.test("TtrpcClient rejects a call whose Response frame is over 4 MiB with RESOURCE_EXHAUSTED", async () => {
  await using t = setup();
  const frames = new FrameReader(t.peer.readable);
  const call = t.client.callRaw("s", "m", new Uint8Array(0));
  await frames.read();
  const writer = t.peer.writable.getWriter();
  const big = new Uint8Array(10 + MESSAGE_LENGTH_MAX + 5);
  new DataView(big.buffer).setUint32(0, MESSAGE_LENGTH_MAX + 5);
  new DataView(big.buffer).setUint32(4, 1);
  big[8] = 2;
  await writer.write(big);
  await assert.rejects(
    call,
    isStatus("RESOURCE_EXHAUSTED", "message length 4194309 exceed maximum message size of 4194304"),
  );
  writer.releaseLock();
});
