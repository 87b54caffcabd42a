import assert from "node:assert/strict";
import {
  AttestationAgentService,
  GetTeeTypeRequestSchema,
  GetTeeTypeResponseSchema,
} from "../proto/gen/attestation-agent_pb.ts";
import { memoryLogger } from "../log.ts";
import { createClient, TtrpcClient } from "./client.ts";
import { MESSAGE_LENGTH_MAX } from "./frame.ts";
import { type CallContext, TtrpcServer, unary } from "./server.ts";
import { Code, TtrpcError } from "./status.ts";
import { bytes, deferred, serveOnTempSocket } from "./_testing.ts";

const AA = "attestation_agent.AttestationAgentService";
const te = new TextEncoder();
const td = new TextDecoder();

function aaServer(server: TtrpcServer): void {
  server.registerService(AttestationAgentService, {
    getTeeType: () => ({ tee: "sample" }),
    getToken: (req) => ({ Token: te.encode(`token:${req.TokenType}`) }),
  });
}

Deno.test("TtrpcServer serves a generated service to createClient() over a unix socket", async () => {
  await using fx = await serveOnTempSocket(aaServer);
  const client = await TtrpcClient.connect(`unix://${fx.path}`);
  const aa = createClient(client, AttestationAgentService);
  assert.equal((await aa.getTeeType({}, { timeoutMs: 50_000 })).tee, "sample");
  assert.equal(td.decode((await aa.getToken({ TokenType: "kbs" })).Token), "token:kbs");
  await assert.rejects(
    aa.getEvidence({ RuntimeData: new Uint8Array(32) }),
    (err: unknown) =>
      err instanceof TtrpcError && err.code === "UNIMPLEMENTED" &&
      err.message === `/${AA}/GetEvidence is not supported`,
  );
  await client.close();
});

Deno.test("TtrpcServer.register() serves unary() methods and passes metadata in ctx", async () => {
  let seen: CallContext | undefined;
  await using fx = await serveOnTempSocket((s) =>
    s.register(AA, {
      GetTeeType: unary(GetTeeTypeRequestSchema, GetTeeTypeResponseSchema, (_req, ctx) => {
        seen = ctx;
        return { tee: "tdx" };
      }),
    })
  );
  const client = await TtrpcClient.connect(fx.path);
  const res = await client.call(
    AA,
    "GetTeeType",
    GetTeeTypeRequestSchema,
    GetTeeTypeResponseSchema,
    {},
    {
      metadata: { "containerd-namespace-ttrpc": "k8s.io", traceparent: ["a", "b"] },
      timeoutMs: 1000,
    },
  );
  assert.equal(res.tee, "tdx");
  assert.equal(seen?.metadata.get("containerd-namespace-ttrpc")?.[0], "k8s.io");
  assert.deepEqual(seen?.metadata.get("traceparent"), ["a", "b"]);
  assert.equal(seen?.method, "GetTeeType");
  assert.ok(seen?.deadline !== undefined && seen.deadline > Date.now() - 1000);
  await client.close();
});

Deno.test("TtrpcServer demultiplexes 100 concurrent calls answered in reverse order", async () => {
  const gates: Array<() => void> = [];
  const all = deferred();
  await using fx = await serveOnTempSocket((s) =>
    s.registerService(AttestationAgentService, {
      getToken: async (req) => {
        const gate = deferred();
        gates.push(gate.resolve);
        if (gates.length === 100) all.resolve();
        await gate.promise;
        return { Token: te.encode(req.TokenType) };
      },
    })
  );
  const client = await TtrpcClient.connect(fx.path);
  const aa = createClient(client, AttestationAgentService);
  const order: number[] = [];
  const calls = Array.from(
    { length: 100 },
    (_, i) =>
      aa.getToken({ TokenType: `t${i}` }).then((r) => {
        order.push(i);
        return td.decode(r.Token);
      }),
  );
  await all.promise;
  for (const open of gates.toReversed()) open();
  const results = await Promise.all(calls);
  assert.deepEqual(results, Array.from({ length: 100 }, (_, i) => `t${i}`));
  assert.deepEqual(order, Array.from({ length: 100 }, (_, i) => 99 - i));
  await client.close();
});

Deno.test("TtrpcServer maps handler errors: TtrpcError keeps its code, others become INTERNAL and are logged", async () => {
  const logger = memoryLogger();
  await using fx = await serveOnTempSocket((s) =>
    s.registerService(AttestationAgentService, {
      getToken: (req) => {
        if (req.TokenType === "nope") {
          throw new TtrpcError(Code.NOT_FOUND, "Cannot get token nope: unknown type");
        }
        throw new Error("Cannot reach KBS: connection refused");
      },
    }), logger);
  const client = await TtrpcClient.connect(fx.path);
  const aa = createClient(client, AttestationAgentService);
  await assert.rejects(
    aa.getToken({ TokenType: "nope" }),
    (e: unknown) =>
      e instanceof TtrpcError && e.code === "NOT_FOUND" && e.status === 5 &&
      e.message === "Cannot get token nope: unknown type",
  );
  await assert.rejects(
    aa.getToken({ TokenType: "kbs" }),
    (e: unknown) =>
      e instanceof TtrpcError && e.code === "INTERNAL" &&
      e.message === "Cannot reach KBS: connection refused",
  );
  assert.deepEqual(logger.records.filter((r) => r.level === "error").map((r) => r.method), [
    `/${AA}/GetToken`,
  ]);
  await client.close();
});

Deno.test("TtrpcServer aborts a running handler when its client disconnects and keeps serving", async () => {
  const started = deferred();
  const aborted = deferred<unknown>();
  await using fx = await serveOnTempSocket((s) =>
    s.registerService(AttestationAgentService, {
      getTeeType: () => ({ tee: "sample" }),
      getEvidence: (_req, ctx) => {
        started.resolve();
        return new Promise((_resolve, reject) =>
          ctx.signal.addEventListener("abort", () => {
            aborted.resolve(ctx.signal.reason);
            reject(ctx.signal.reason);
          })
        );
      },
    })
  );
  const first = await TtrpcClient.connect(fx.path);
  const pending = createClient(first, AttestationAgentService).getEvidence({});
  await started.promise;
  await first.close();
  await assert.rejects(
    pending,
    (e: unknown) => e instanceof TtrpcError && e.code === "UNAVAILABLE",
  );
  const reason = await aborted.promise;
  assert.ok(reason instanceof TtrpcError && reason.code === "CANCELLED");
  const second = await TtrpcClient.connect(fx.path);
  assert.equal((await createClient(second, AttestationAgentService).getTeeType({})).tee, "sample");
  await second.close();
});

Deno.test("TtrpcServer answers RESOURCE_EXHAUSTED when a handler's reply exceeds 4 MiB", async () => {
  await using fx = await serveOnTempSocket((s) =>
    s.registerService(AttestationAgentService, {
      getEvidence: () => ({ Evidence: new Uint8Array(MESSAGE_LENGTH_MAX) }),
    })
  );
  const client = await TtrpcClient.connect(fx.path);
  await assert.rejects(
    createClient(client, AttestationAgentService).getEvidence({}),
    (e: unknown) => e instanceof TtrpcError && e.code === "RESOURCE_EXHAUSTED",
  );
  await client.close();
});

Deno.test("TtrpcServer.close() lets running calls finish, refuses new ones, then closes connections", async () => {
  const started = deferred();
  const release = deferred();
  const dir = await Deno.makeTempDir();
  const server = new TtrpcServer();
  server.registerService(AttestationAgentService, {
    getTeeType: () => ({ tee: "sample" }),
    getEvidence: async () => {
      started.resolve();
      await release.promise;
      return { Evidence: bytes("01") };
    },
  });
  const { listenUnix } = await import("./transport.ts");
  const listener = await listenUnix(`${dir}/s.sock`);
  const serving = server.serve(listener);
  const client = await TtrpcClient.connect(`${dir}/s.sock`);
  const aa = createClient(client, AttestationAgentService);
  const slow = aa.getEvidence({});
  await started.promise;
  const closing = server.close();
  await assert.rejects(
    aa.getTeeType({}),
    (e: unknown) => e instanceof TtrpcError && e.code === "UNAVAILABLE",
  );
  release.resolve();
  assert.deepEqual((await slow).Evidence, bytes("01"));
  await closing;
  await serving;
  await client.closed;
  await assert.rejects(Deno.connect({ transport: "unix", path: `${dir}/s.sock` }));
  await client.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("TtrpcServer.close() aborts calls still running after graceMs; the client sees UNAVAILABLE", async () => {
  const started = deferred();
  let signal: AbortSignal | undefined;
  await using fx = await serveOnTempSocket((s) =>
    s.registerService(AttestationAgentService, {
      getEvidence: (_req, ctx) => {
        signal = ctx.signal;
        started.resolve();
        return new Promise(() => {}); // ignores its signal on purpose
      },
    })
  );
  const client = await TtrpcClient.connect(fx.path);
  const call = createClient(client, AttestationAgentService).getEvidence({});
  await started.promise;
  await fx.server.close({ graceMs: 10 });
  await assert.rejects(call, (e: unknown) => e instanceof TtrpcError && e.code === "UNAVAILABLE");
  assert.equal(signal?.aborted, true);
  await client.close();
});
