import assert from "node:assert/strict";
import { nullLogger } from "@coco/lib/log";
import type { AaApi, CdhApi } from "./backends.ts";
import { type Features, parseBind } from "./features.ts";
import { createAsrHandler, MAX_BODY_BYTES } from "./handler.ts";
import { startApiServerRest } from "./server.ts";

const enc = new TextEncoder();
const local: { remoteAddr: Deno.NetAddr } = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 5555 },
};

function fakes(measurement: "OK" | "NOT_SUPPORTED" | "NOT_ENABLED" = "NOT_SUPPORTED") {
  const calls: string[] = [];
  const aa: AaApi = {
    getToken: (t) =>
      t === "kbs"
        ? Promise.resolve(enc.encode(`token:${t}`))
        : Promise.reject(new Error(`unknown TokenType \`${t}\``)),
    getEvidence: (rd) => Promise.resolve(enc.encode(JSON.stringify({ rd: [...rd] }))),
    getAdditionalEvidence: () => Promise.resolve(new Uint8Array()),
    extendRuntimeMeasurement: (d, o, c) => {
      calls.push(`${d} ${o} ${c}`);
      return Promise.resolve(measurement);
    },
    getTeeType: () => Promise.resolve("sample"),
    getAdditionalTees: () => Promise.resolve([]),
  };
  const cdh: CdhApi = {
    getResource: (uri) => {
      calls.push(uri);
      return uri === "kbs:///default/key/1"
        ? Promise.resolve(enc.encode("key-bytes"))
        : Promise.reject(new Error(`[CDH] [ERROR]: Cannot get resource ${uri}`));
    },
  };
  return { aa, cdh, calls };
}

function handler(features: Features = "all", measurement?: "OK" | "NOT_SUPPORTED" | "NOT_ENABLED") {
  const f = fakes(measurement);
  const aa = features !== "resource" ? { aa: f.aa } : {};
  const cdh = features !== "attestation" ? { cdh: f.cdh } : {};
  const h = createAsrHandler({ features, logger: nullLogger, ...aa, ...cdh });
  return {
    calls: f.calls,
    req: async (path: string, init?: RequestInit, info = local) => {
      const res = await h(new Request(`http://127.0.0.1:8006${path}`, init), info);
      return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
    },
  };
}

Deno.test("handler answers 403 Forbidden to non-loopback peers", async () => {
  const h = handler();
  for (const hostname of ["10.0.0.5", "::ffff:10.0.0.1", "192.168.1.1"]) {
    const r = await h.req("/info", undefined, {
      remoteAddr: { transport: "tcp", hostname, port: 1 },
    });
    assert.deepEqual([r.status, r.body], [403, "Forbidden"]);
  }
  for (const hostname of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) {
    const r = await h.req("/info", undefined, {
      remoteAddr: { transport: "tcp", hostname, port: 1 },
    });
    assert.equal(r.status, 200);
  }
});

Deno.test("GET /info reports version, tee and feature; non-GET is 405", async () => {
  const h = handler("all");
  const r = await h.req("/info");
  assert.deepEqual(JSON.parse(r.body), {
    version: "0.1.0",
    tee: "sample",
    additional_tees: [],
    feature: "all",
  });
  assert.deepEqual(JSON.parse((await handler("resource").req("/info")).body), {
    version: "0.1.0",
    feature: "resource",
  });
  assert.equal((await h.req("/info", { method: "POST" })).status, 405);
});

Deno.test("GET /aa/token forwards token_type; missing → 400; AA error → 500 with its text", async () => {
  const h = handler();
  const ok = await h.req("/aa/token?token_type=kbs");
  assert.deepEqual([ok.status, ok.body, ok.type], [200, "token:kbs", "application/octet-stream"]);
  assert.equal((await h.req("/aa/token")).status, 400);
  const bad = await h.req("/aa/token?token_type=jwt");
  assert.deepEqual([bad.status, bad.body], [500, "unknown TokenType `jwt`"]);
});

Deno.test("GET /aa/evidence decodes runtime_data as text or unpadded base64url", async () => {
  const h = handler();
  assert.deepEqual(JSON.parse((await h.req("/aa/evidence?runtime_data=hi%21")).body).rd, [
    104,
    105,
    33,
  ]);
  assert.deepEqual(
    JSON.parse((await h.req("/aa/evidence?runtime_data=_-8&encoding=base64")).body).rd,
    [255, 239],
  );
  for (
    const q of [
      "runtime_data=@@@&encoding=base64",
      "runtime_data=QQ==&encoding=base64",
      "runtime_data=A&encoding=base64",
      "runtime_data=x&encoding=hex",
      "",
    ]
  ) {
    assert.equal((await h.req(`/aa/evidence?${q}`)).status, 400, q);
  }
  const add = await h.req("/aa/additional-evidence?runtime_data=x");
  assert.deepEqual([add.status, add.body], [200, ""]);
});

Deno.test("POST /aa/aael maps results; bad JSON → 500; oversized → 413; GET → 404", async () => {
  const body = JSON.stringify({ domain: "d", operation: "o", content: "c" });
  const ok = handler("all", "OK");
  assert.deepEqual(JSON.parse((await ok.req("/aa/aael", { method: "POST", body })).body), {
    success: "true",
  });
  assert.deepEqual(ok.calls, ["d o c"]);
  const ns = handler("all", "NOT_SUPPORTED");
  assert.deepEqual(JSON.parse((await ns.req("/aa/aael", { method: "POST", body })).body), {
    success: "false",
    message: "The platform does not support runtime measurement",
  });
  const ne = handler("all", "NOT_ENABLED");
  assert.match(
    (await ne.req("/aa/aael", { method: "POST", body })).body,
    /does not enable eventlog recording/,
  );
  assert.equal((await ok.req("/aa/aael", { method: "POST", body: "{garbage" })).status, 500);
  assert.equal((await ok.req("/aa/aael", { method: "POST", body: '{"domain":1}' })).status, 500);
  assert.equal(
    (await ok.req("/aa/aael", { method: "POST", body: "x".repeat(MAX_BODY_BYTES + 1) })).status,
    413,
  );
  assert.equal((await ok.req("/aa/aael")).status, 404);
});

Deno.test("/cdh/resource/<repo>/<type>/<tag> forwards kbs:///repo/type/tag", async () => {
  const h = handler();
  const r = await h.req("/cdh/resource/default/key/1");
  assert.deepEqual([r.status, r.body], [200, "key-bytes"]);
  assert.deepEqual(h.calls, ["kbs:///default/key/1"]);
  const miss = await h.req("/cdh/resource/default/key/2");
  assert.deepEqual([miss.status, miss.body], [
    500,
    "[CDH] [ERROR]: Cannot get resource kbs:///default/key/2",
  ]);
  assert.equal((await h.req("/cdh/resource/default/ke%20y/1")).status, 400);
  assert.equal((await h.req("/cdh/resource/default/.hidden/1")).status, 400);
  assert.equal((await h.req("/cdh/resource/default/%2e%2e/x")).status, 404); // URL-normalized away
  assert.equal((await h.req("/cdh/resource/default/key")).status, 404);
  assert.equal((await h.req("/cdh/resource/a/b/c/d")).status, 404);
  assert.equal((await h.req("/cdh/resource/default/key/1", { method: "DELETE" })).status, 405);
});

Deno.test("features gate the AA and CDH routes; unknown paths are 404 URL NOT FOUND", async () => {
  const res = handler("resource");
  assert.deepEqual(Object.values(await res.req("/aa/token?token_type=kbs")).slice(0, 2), [
    404,
    "Attestation Feature Not Enabled",
  ]);
  const att = handler("attestation");
  assert.deepEqual(Object.values(await att.req("/cdh/resource/a/b/c")).slice(0, 2), [
    404,
    "Resource Feature Not Enabled",
  ]);
  assert.equal((await att.req("/aa/token?token_type=kbs")).status, 200);
  for (const path of ["/", "/aa", "/aa/tokens", "/cdh", "/info/x", "/%00"]) {
    const r = await handler().req(path);
    assert.deepEqual([r.status, r.body], [404, "URL NOT FOUND"], path);
  }
});

Deno.test("parseBind() accepts host:port and rejects garbage", () => {
  assert.deepEqual(parseBind("127.0.0.1:8006"), { hostname: "127.0.0.1", port: 8006 });
  assert.deepEqual(parseBind("[::1]:0"), { hostname: "::1", port: 0 });
  for (const bad of ["8006", "127.0.0.1", "h:70000", "h:-1", ":80"]) {
    assert.throws(() => parseBind(bad), /Invalid bind address/);
  }
});

Deno.test("startApiServerRest() serves on a real socket with port 0", async () => {
  const f = fakes();
  const asr = await startApiServerRest({
    bind: "127.0.0.1:0",
    features: "all",
    logger: nullLogger,
    aa: f.aa,
    cdh: f.cdh,
  });
  try {
    assert.match(asr.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${asr.url}/cdh/resource/default/key/1`);
    assert.equal(await res.text(), "key-bytes");
    const big = await fetch(`${asr.url}/aa/aael`, {
      method: "POST",
      body: new Uint8Array(MAX_BODY_BYTES * 2),
    });
    assert.equal(big.status, 413);
    await big.body?.cancel();
  } finally {
    await asr.close();
  }
});

Deno.test("startApiServerRest() reports an absent AA socket as 500 naming it", async () => {
  const asr = await startApiServerRest({
    bind: "127.0.0.1:0",
    features: "attestation",
    aaAddr: "unix:///nonexistent/aa.sock",
    logger: nullLogger,
  });
  try {
    const res = await fetch(`${asr.url}/aa/token?token_type=kbs`);
    assert.equal(res.status, 500);
    assert.match(await res.text(), /Cannot connect to AA at unix:\/\/\/nonexistent\/aa\.sock/);
  } finally {
    await asr.close();
  }
});
