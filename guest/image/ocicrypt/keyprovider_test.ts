import assert from "node:assert/strict";
import { keyprovider } from "@coco/lib/proto";
import { memoryTtrpc } from "../../_testing/ttrpc.ts";
import {
  commandKeyProvider,
  decodeBytesField,
  encodeUnwrapRequest,
  encodeUnwrapResponse,
  keyProvidersFromConfig,
  OcicryptError,
  parseKeyProviderConfig,
  parseUnwrapRequest,
  parseUnwrapResponse,
  serveUnwrapKey,
  ttrpcKeyProvider,
  unwrapAnnotationPacket,
  wrapAnnotationPacket,
} from "./mod.ts";

const enc = new TextEncoder();
const kek = new Uint8Array(32).fill(7);
const kid = "kbs:///default/key/key_id1";
const getResource = (uri: string) =>
  uri === kid ? Promise.resolve(kek) : Promise.reject(new Error(`404 ${uri}`));
const isCode = (code: string) => (e: unknown) => e instanceof OcicryptError && e.code === code;

Deno.test("keyprovider messages accept Go base64 and ocicrypt-rs integer-array byte fields", () => {
  const data = enc.encode('{"symkey":"x"}');
  assert.deepEqual(parseUnwrapResponse(encodeUnwrapResponse(data, true)), data);
  assert.deepEqual(parseUnwrapResponse(encodeUnwrapResponse(data, false)), data);
  assert.match(new TextDecoder().decode(encodeUnwrapResponse(data)), /"optsdata":\[123,/);
  const req = parseUnwrapRequest(encodeUnwrapRequest(data));
  assert.deepEqual(req.annotation, data);
  const rsReq = enc.encode(JSON.stringify({
    op: "keyunwrap",
    keyunwrapparams: { dc: { Parameters: { "attestation-agent": ["eA=="] } }, annotation: [1, 2] },
  }));
  assert.deepEqual(parseUnwrapRequest(rsReq), {
    annotation: new Uint8Array([1, 2]),
    parameters: { "attestation-agent": ["eA=="] },
  });
  assert.throws(() => parseUnwrapRequest(enc.encode('{"op":"keywrap"}')), isCode("keyprovider"));
  assert.throws(() => parseUnwrapResponse(enc.encode("{}")), isCode("keyprovider"));
  assert.throws(() => decodeBytesField([1, 256], "x"), isCode("keyprovider"));
  assert.throws(() => decodeBytesField("@@", "x"), isCode("keyprovider"));
});

Deno.test("unwrapAnnotationPacket() rejects hostile packets with named errors", async () => {
  const good = await wrapAnnotationPacket(enc.encode("opts"), kek, kid);
  assert.deepEqual(await unwrapAnnotationPacket(good, getResource), enc.encode("opts"));
  const p = JSON.parse(new TextDecoder().decode(good));
  const variant = (o: Record<string, unknown>) => enc.encode(JSON.stringify({ ...p, ...o }));
  await assert.rejects(
    unwrapAnnotationPacket(variant({ kid: "kbs:///x/y/z" }), getResource),
    isCode("keyprovider"),
  );
  await assert.rejects(
    unwrapAnnotationPacket(variant({ wrap_type: "A256CTR" }), getResource),
    isCode("bad-annotation"),
  );
  await assert.rejects(
    unwrapAnnotationPacket(variant({ provider: "aliyun" }), getResource),
    isCode("keyprovider"),
  );
  await assert.rejects(
    unwrapAnnotationPacket(variant({ iv: "AAAA" }), getResource),
    isCode("bad-annotation"),
  );
  const flipped = Uint8Array.fromBase64(p.wrapped_data);
  flipped[0]! ^= 1;
  await assert.rejects(
    unwrapAnnotationPacket(variant({ wrapped_data: flipped.toBase64() }), getResource),
    isCode("no-key"),
  );
  await assert.rejects(
    unwrapAnnotationPacket(enc.encode("nope"), getResource),
    isCode("bad-annotation"),
  );
  await assert.rejects(
    unwrapAnnotationPacket(good, () => Promise.resolve(new Uint8Array(16))),
    isCode("keyprovider"),
  );
});

Deno.test("ttrpcKeyProvider() unwraps through a KeyProviderService served with serveUnwrapKey()", async () => {
  await using rpc = memoryTtrpc((server) =>
    server.registerService(keyprovider.KeyProviderService, {
      unWrapKey: async (req) => ({
        KeyProviderKeyWrapProtocolOutput: await serveUnwrapKey(
          req.KeyProviderKeyWrapProtocolInput,
          getResource,
        ),
      }),
      wrapKey: () => Promise.reject(new Error("not implemented")),
    })
  );
  const opts = enc.encode('{"symkey":"…"}');
  const unwrap = ttrpcKeyProvider("attestation-agent", rpc.client());
  assert.deepEqual(await unwrap(await wrapAnnotationPacket(opts, kek, kid)), opts);
  const lazy = ttrpcKeyProvider("attestation-agent", rpc.lazy());
  assert.deepEqual(await lazy(await wrapAnnotationPacket(opts, kek, kid)), opts);
  await assert.rejects(
    unwrap(await wrapAnnotationPacket(opts, kek, "kbs:///default/key/other")),
    isCode("keyprovider"),
  );
});

Deno.test("commandKeyProvider() speaks the protocol over stdin/stdout", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/kp.ts`;
    await Deno.writeTextFile(
      script,
      `const input = JSON.parse(await new Response(Deno.stdin.readable).text());
       const a = atob(input.keyunwrapparams.annotation);
       console.log(JSON.stringify({ keyunwrapresults: { optsdata: btoa(a.toUpperCase()) } }));`,
    );
    const unwrap = commandKeyProvider("cmd", Deno.execPath(), ["run", "-q", script]);
    assert.deepEqual(await unwrap(enc.encode("abc")), enc.encode("ABC"));
    const failing = commandKeyProvider("cmd", Deno.execPath(), ["eval", "Deno.exit(3)"]);
    await assert.rejects(failing(enc.encode("abc")), isCode("keyprovider"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseKeyProviderConfig() reads CDH's file and rejects unknown shapes", () => {
  const cfg = parseKeyProviderConfig(JSON.stringify({
    "key-providers": {
      "attestation-agent": { ttrpc: "unix:///run/confidential-containers/cdh.sock" },
      tool: { cmd: { path: "/bin/kp", args: ["-x"] } },
      g: { grpc: "127.0.0.1:50000" },
    },
  }));
  assert.deepEqual(cfg["attestation-agent"], {
    kind: "ttrpc",
    address: "unix:///run/confidential-containers/cdh.sock",
  });
  assert.deepEqual(cfg["tool"], { kind: "cmd", path: "/bin/kp", args: ["-x"] });
  assert.throws(
    () => parseKeyProviderConfig('{"key-providers":{"x":{"http":"y"}}}'),
    isCode("bad-config"),
  );
  assert.throws(() => parseKeyProviderConfig("[]"), isCode("bad-config"));
  assert.throws(() => keyProvidersFromConfig({ g: cfg["g"]! }, {}), isCode("bad-config"));
  const built = keyProvidersFromConfig({ tool: cfg["tool"]! }, {});
  assert.equal(typeof built["tool"], "function");
});
