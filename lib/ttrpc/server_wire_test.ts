import assert from "node:assert/strict";
import { create, toBinary } from "@bufbuild/protobuf";
import { RequestSchema } from "../proto/gen/ttrpc/request_pb.ts";
import { AttestationAgentService } from "../proto/gen/attestation-agent_pb.ts";
import { createClient, TtrpcClient } from "./client.ts";
import { decodeResponse } from "./_envelope.ts";
import { encodeFrame, FrameReader, MESSAGE_LENGTH_MAX, MessageType } from "./frame.ts";
import { TtrpcServer } from "./server.ts";
import { Code, TtrpcError } from "./status.ts";
import { connectUnix, memoryPipe } from "./transport.ts";
import { bytes, deferred, serveOnTempSocket } from "./_testing.ts";

// Protocol-level tests: a raw frame peer talks to a real TtrpcServer.

const AA = "attestation_agent.AttestationAgentService";
const te = new TextEncoder();

/** A raw connection that speaks frames, for protocol-level tests. */
async function rawConn(path: string) {
  const stream = await connectUnix(path);
  const reader = new FrameReader(stream.readable);
  const writer = stream.writable.getWriter();
  const send = (streamId: number, payload: Uint8Array, type: number = MessageType.Request) =>
    writer.write(encodeFrame({ streamId, type, flags: 0, payload }));
  const request = (
    service: string,
    method: string,
    payload: Uint8Array = new Uint8Array(0),
    timeoutNano = 0n,
  ) => toBinary(RequestSchema, create(RequestSchema, { service, method, payload, timeoutNano }));
  const response = async () => {
    const r = await reader.read();
    assert.ok(r?.kind === "frame", "expected a frame");
    assert.equal(r.frame.type, MessageType.Response);
    const res = decodeResponse(r.frame.payload);
    return {
      streamId: r.frame.streamId,
      code: res.status?.code ?? 0,
      message: res.status?.message ?? "",
      payload: res.payload,
    };
  };
  return {
    stream,
    reader,
    writer,
    send,
    request,
    response,
    async [Symbol.asyncDispose]() {
      await reader.cancel();
      await writer.close().catch(() => {});
      stream.close();
    },
  };
}

function aaServer(server: TtrpcServer): void {
  server.registerService(AttestationAgentService, {
    getTeeType: () => ({ tee: "sample" }),
    getToken: (req) => ({ Token: te.encode(`token:${req.TokenType}`) }),
  });
}

Deno.test("TtrpcServer answers the byte-exact Health/Check example", async () => {
  const [a, b] = memoryPipe();
  const server = new TtrpcServer().registerRaw(
    "grpc.Health",
    "Check",
    () => Promise.resolve(bytes("08 01")),
  );
  const serving = server.handle(a);
  const writer = b.writable.getWriter();
  const reader = new FrameReader(b.readable);
  await writer.write(
    bytes("00 00 00 1a 00 00 00 01 01 00 0a 0b", { ascii: "grpc.Health" }, "12 05", {
      ascii: "Check",
    }, "20 80 d8 8e e1 6f"),
  );
  const r = await reader.read();
  assert.ok(r?.kind === "frame");
  assert.deepEqual(r.frame.payload, bytes("0a 00 12 02 08 01"));
  assert.deepEqual([r.frame.streamId, r.frame.type, r.frame.flags], [1, 2, 0]);
  await writer.close();
  await serving;
  await reader.cancel();
});

Deno.test("TtrpcServer rejects unknown services, malformed envelopes and payloads on the raw wire", async () => {
  await using fx = await serveOnTempSocket(aaServer);
  await using c = await rawConn(fx.path);
  await c.send(1, c.request("no.Such", "Thing"));
  assert.deepEqual(await c.response(), {
    streamId: 1,
    code: 12,
    message: "/no.Such/Thing is not supported",
    payload: new Uint8Array(0),
  });
  await c.send(3, bytes("0a ff ff ff ff ff"));
  const bad = await c.response();
  assert.equal(bad.streamId, 3);
  assert.equal(bad.code, Code.INVALID_ARGUMENT);
  await c.send(5, c.request(AA, "GetToken", bytes("0a 05 41")));
  const badPayload = await c.response();
  assert.deepEqual([badPayload.streamId, badPayload.code], [5, Code.INVALID_ARGUMENT]);
  assert.match(
    badPayload.message,
    /^Cannot decode attestation_agent.GetTokenRequest for \/attestation_agent/,
  );
  await c.send(7, bytes("ff"), MessageType.Data); // ignored
  await c.send(9, c.request(AA, "GetTeeType"));
  const ok = await c.response();
  assert.deepEqual([ok.streamId, ok.code, ok.payload], [9, 0, bytes("0a 06", { ascii: "sample" })]);
});

Deno.test("TtrpcServer rejects even and non-increasing stream ids with INVALID_ARGUMENT", async () => {
  await using fx = await serveOnTempSocket(aaServer);
  await using c = await rawConn(fx.path);
  await c.send(2, c.request(AA, "GetTeeType"));
  assert.deepEqual(await c.response(), {
    streamId: 2,
    code: 3,
    message: "StreamID must be odd for client initiated streams",
    payload: new Uint8Array(0),
  });
  await c.send(5, c.request(AA, "GetTeeType"));
  assert.equal((await c.response()).code, 0);
  await c.send(3, c.request(AA, "GetTeeType"));
  assert.deepEqual(await c.response(), {
    streamId: 3,
    code: 3,
    message: "StreamID cannot be re-used and must increment",
    payload: new Uint8Array(0),
  });
});

Deno.test("TtrpcServer discards an oversized frame, answers RESOURCE_EXHAUSTED and keeps the connection", async () => {
  await using fx = await serveOnTempSocket(aaServer);
  await using c = await rawConn(fx.path);
  const header = new Uint8Array(10);
  new DataView(header.buffer).setUint32(0, MESSAGE_LENGTH_MAX + 1);
  new DataView(header.buffer).setUint32(4, 1);
  header[8] = MessageType.Request;
  await c.writer.write(header);
  const junk = new Uint8Array(1 << 20).fill(0x0a);
  for (let i = 0; i < 4; i++) await c.writer.write(junk);
  await c.writer.write(junk.subarray(0, 1));
  assert.deepEqual(await c.response(), {
    streamId: 1,
    code: Code.RESOURCE_EXHAUSTED,
    message: "message length 4194305 exceed maximum message size of 4194304",
    payload: new Uint8Array(0),
  });
  await c.send(3, c.request(AA, "GetTeeType"));
  assert.deepEqual((await c.response()).payload, bytes("0a 06", { ascii: "sample" }));
});

Deno.test("TtrpcServer answers DEADLINE_EXCEEDED when timeout_nano passes and aborts ctx.signal", async () => {
  const aborted = deferred<unknown>();
  await using fx = await serveOnTempSocket((s) =>
    s.registerService(AttestationAgentService, {
      getEvidence: (_req, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => {
            aborted.resolve(ctx.signal.reason);
            reject(ctx.signal.reason);
          });
        }),
    })
  );
  await using c = await rawConn(fx.path);
  await c.send(1, c.request(AA, "GetEvidence", new Uint8Array(0), 30_000_000n));
  const res = await c.response();
  assert.deepEqual([res.streamId, res.code], [1, Code.DEADLINE_EXCEEDED]);
  assert.equal(res.message, `/${AA}/GetEvidence: deadline exceeded`);
  const reason = await aborted.promise;
  assert.ok(reason instanceof TtrpcError && reason.code === "DEADLINE_EXCEEDED");
});

Deno.test("TtrpcServer survives garbage and truncated frames on one connection while serving another", async () => {
  await using fx = await serveOnTempSocket(aaServer);
  const good = await TtrpcClient.connect(fx.path);
  const bad = await Deno.connect({ transport: "unix", path: fx.path });
  await bad.write(bytes("00 00 00 20 00 00 00 01 01 00 0a 0b 67")); // promises 32 bytes, sends 3
  await bad.closeWrite();
  assert.equal(await bad.read(new Uint8Array(16)), null, "server closes the broken connection");
  bad.close();
  assert.equal((await createClient(good, AttestationAgentService).getTeeType({})).tee, "sample");
  await good.close();
});

Deno.test("TtrpcServer does not fire a deadline beyond setTimeout's range early", async () => {
  await using fx = await serveOnTempSocket((s) =>
    s.registerService(AttestationAgentService, {
      getTeeType: async () => {
        await new Promise((r) => setTimeout(r, 20)); // outlives a 1 ms overflowed timer
        return { tee: "sample" };
      },
    })
  );
  await using c = await rawConn(fx.path);
  await c.send(1, c.request(AA, "GetTeeType", new Uint8Array(0), 9_000_000_000_000_000_000n));
  const res = await c.response();
  assert.deepEqual([res.code, res.payload], [0, bytes("0a 06", { ascii: "sample" })]);
});
