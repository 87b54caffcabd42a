import assert from "node:assert/strict";
import { nullLogger } from "@coco/lib/log";
import { aa } from "@coco/lib/proto";
import { createClient, TtrpcError } from "@coco/lib/ttrpc";
import { teeKeyFromPem } from "@coco/lib/jose";
import { ALG_SHA384, parseCryptoAgileEvents } from "@coco/lib/eventlog";
import { createAttester } from "../attester/mod.ts";
import { startFakeKbs } from "../_testing/fake_kbs.ts";
import { memoryTtrpc } from "../_testing/ttrpc.ts";
import {
  type AaConfig,
  AttestationAgent,
  defaultAaConfig,
  registerAttestationAgent,
} from "./mod.ts";

function fixture(config: AaConfig = defaultAaConfig(), withDevice = false, aaelPath?: string) {
  const agent = new AttestationAgent({
    attester: createAttester({ tee: "sample", withDevice, aaelPath: aaelPath ?? null }),
    config,
    logger: nullLogger,
    ...(aaelPath ? { aaelPath } : {}),
  });
  const rpc = memoryTtrpc((s) => registerAttestationAgent(s, agent));
  const client = createClient(rpc.client(), aa.AttestationAgentService);
  return {
    client,
    agent,
    async [Symbol.asyncDispose]() {
      await rpc[Symbol.asyncDispose]();
      await agent.close();
    },
  };
}

const rejectsWith = (p: Promise<unknown>, code: string, re: RegExp) =>
  assert.rejects(
    p,
    (e: unknown) => e instanceof TtrpcError && e.code === code && re.test(e.message),
  );

Deno.test("GetEvidence uses RuntimeData verbatim as report data", async () => {
  await using f = fixture();
  const rd = crypto.getRandomValues(new Uint8Array(48));
  const { Evidence } = await f.client.getEvidence({ RuntimeData: rd });
  const ev = JSON.parse(new TextDecoder().decode(Evidence));
  assert.equal(ev.svn, "1");
  assert.deepEqual(Uint8Array.fromBase64(ev.report_data), rd);
});

Deno.test("GetAdditionalEvidence is empty without devices and a map with sampledevice", async () => {
  {
    await using f = fixture();
    assert.equal(
      (await f.client.getAdditionalEvidence({ RuntimeData: new Uint8Array([1]) })).Evidence.length,
      0,
    );
    assert.deepEqual((await f.client.getAdditionalTees({})).additionalTees, []);
  }
  await using f = fixture(defaultAaConfig(), true);
  const ev = JSON.parse(
    new TextDecoder().decode(
      (await f.client.getAdditionalEvidence({ RuntimeData: new Uint8Array([7]) })).Evidence,
    ),
  );
  assert.deepEqual(ev, { sampledevice: { svn: "2", report_data: "Bw==" } });
  assert.deepEqual((await f.client.getAdditionalTees({})).additionalTees, ["sampledevice"]);
});

Deno.test("GetTeeType answers sample", async () => {
  await using f = fixture();
  assert.equal((await f.client.getTeeType({})).tee, "sample");
});

Deno.test("GetToken rejects an unknown TokenType with INVALID_ARGUMENT", async () => {
  await using f = fixture();
  await rejectsWith(
    f.client.getToken({ TokenType: "jwt" }),
    "INVALID_ARGUMENT",
    /unknown TokenType `jwt`/,
  );
});

Deno.test("GetToken(kbs) without [token_configs.kbs] fails FAILED_PRECONDITION", async () => {
  await using f = fixture();
  await rejectsWith(
    f.client.getToken({ TokenType: "kbs" }),
    "FAILED_PRECONDITION",
    /token_configs\.kbs/,
  );
});

Deno.test("GetToken(kbs) returns token + PEM and reuses the token while valid", async () => {
  await using kbs = await startFakeKbs();
  const config = defaultAaConfig();
  config.tokenConfigs.kbs = { url: kbs.url, teeKeyAlgorithm: "ECDH-ES+A256KW-P256" };
  await using f = fixture(config);
  const first = JSON.parse(
    new TextDecoder().decode((await f.client.getToken({ TokenType: "kbs" })).Token),
  );
  const second = JSON.parse(
    new TextDecoder().decode((await f.client.getToken({ TokenType: "kbs" })).Token),
  );
  assert.equal(typeof first.token, "string");
  assert.match(first.tee_keypair, /^-----BEGIN PRIVATE KEY-----/);
  assert.equal((await teeKeyFromPem(first.tee_keypair)).publicJwk.kty, "EC");
  assert.deepEqual(second, first);
  assert.equal(kbs.attestations, 1);
});

Deno.test("GetToken(kbs) reports an unreachable KBS as INTERNAL naming the URL", async () => {
  const config = defaultAaConfig();
  config.tokenConfigs.kbs = { url: "http://127.0.0.1:1", teeKeyAlgorithm: "ECDH-ES+A256KW-P256" };
  await using f = fixture(config);
  await rejectsWith(
    f.client.getToken({ TokenType: "kbs" }),
    "INTERNAL",
    /Cannot get kbs token: .*127\.0\.0\.1:1/,
  );
});

Deno.test("ExtendRuntimeMeasurement is NOT_ENABLED by default; sample records the AAEL", async () => {
  {
    await using f = fixture();
    const r = await f.client.extendRuntimeMeasurement({
      Domain: "d",
      Operation: "o",
      Content: "c",
    });
    assert.equal(r.Result, aa.RuntimeMeasurementResult.NOT_ENABLED);
  }
  const dir = await Deno.makeTempDir();
  try {
    const config = defaultAaConfig();
    config.eventlog.enableEventlog = true;
    await using f = fixture(config, false, `${dir}/eventlog`);
    const r = await f.client.extendRuntimeMeasurement({
      Domain: "github.com/confidential-containers",
      Operation: "PullImage",
      Content: '{"image":"busybox"}',
      RegisterIndex: 9n,
    });
    assert.equal(r.Result, aa.RuntimeMeasurementResult.OK);
    const entries = parseCryptoAgileEvents(
      await Deno.readFile(`${dir}/eventlog`),
      new Map([[ALG_SHA384, 48]]),
    );
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.index, 9);
    assert.match(new TextDecoder().decode(entries[0]!.data), /PullImage \{"image":"busybox"\}$/);
    await rejectsWith(
      f.client.extendRuntimeMeasurement({ Domain: "d", Operation: "o", Content: "a\nb" }),
      "INVALID_ARGUMENT",
      /newline/,
    );
    await rejectsWith(
      f.client.extendRuntimeMeasurement({ Domain: "d x", Operation: "o", Content: "c" }),
      "INVALID_ARGUMENT",
      /whitespace/,
    );
    await rejectsWith(
      f.client.extendRuntimeMeasurement({
        Domain: "d",
        Operation: "o",
        Content: "c",
        RegisterIndex: 24n,
      }),
      "INVALID_ARGUMENT",
      /RegisterIndex 24/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BindInitData reports the sample TEE as not bound (OK, no error)", async () => {
  await using f = fixture();
  const reply = await f.client.bindInitData({ Digest: new Uint8Array(32) });
  assert.equal(reply.$typeName, "attestation_agent.BindInitDataResponse");
});
