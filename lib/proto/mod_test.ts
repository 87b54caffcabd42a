import assert from "node:assert/strict";
import { aa, cdh, create, fromBinary, keyprovider, rpc, toBinary, ttrpc } from "./mod.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

Deno.test("generated services carry the upstream ttrpc service and method names", () => {
  const names = [
    aa.AttestationAgentService,
    cdh.SealedSecretService,
    cdh.GetResourceService,
    cdh.SecureMountService,
    cdh.ImagePullService,
    keyprovider.KeyProviderService,
  ]
    .map((s) => `${s.typeName}: ${s.methods.map((m) => m.name).join(",")}`);
  assert.deepEqual(names, [
    "attestation_agent.AttestationAgentService: GetEvidence,GetAdditionalEvidence,GetToken,ExtendRuntimeMeasurement,BindInitData,GetTeeType,GetAdditionalTees",
    "api.SealedSecretService: UnsealSecret",
    "api.GetResourceService: GetResource",
    "api.SecureMountService: SecureMount",
    "api.ImagePullService: PullImage",
    "keyprovider.KeyProviderService: WrapKey,UnWrapKey",
  ]);
  assert.equal(
    aa.AttestationAgentService.method.getAdditionalEvidence.output.typeName,
    "attestation_agent.GetEvidenceResponse",
  );
});

Deno.test("AA messages encode with upstream field numbers", () => {
  const ev = toBinary(
    aa.GetEvidenceRequestSchema,
    create(aa.GetEvidenceRequestSchema, { RuntimeData: new Uint8Array([1, 2]) }),
  );
  assert.equal(hex(ev), "0a 02 01 02");
  const tok = toBinary(
    aa.GetTokenRequestSchema,
    create(aa.GetTokenRequestSchema, { TokenType: "kbs" }),
  );
  assert.equal(hex(tok), "0a 03 6b 62 73");
  const ext = (
    init: Parameters<typeof create<typeof aa.ExtendRuntimeMeasurementRequestSchema>>[1],
  ) =>
    hex(
      toBinary(
        aa.ExtendRuntimeMeasurementRequestSchema,
        create(aa.ExtendRuntimeMeasurementRequestSchema, init),
      ),
    );
  assert.equal(ext({ Domain: "d", Operation: "o", Content: "c" }), "0a 01 64 12 01 6f 1a 01 63");
  assert.equal(
    ext({ Domain: "d", RegisterIndex: 0n }),
    "0a 01 64 20 00",
    "optional RegisterIndex keeps an explicit 0",
  );
  const res = toBinary(
    aa.ExtendRuntimeMeasurementResponseSchema,
    create(aa.ExtendRuntimeMeasurementResponseSchema, {
      Result: aa.RuntimeMeasurementResult.NOT_ENABLED,
    }),
  );
  assert.equal(hex(res), "08 02");
  const tees = toBinary(
    aa.GetAdditionalTeesResponseSchema,
    create(aa.GetAdditionalTeesResponseSchema, { additionalTees: ["a", "b"] }),
  );
  assert.equal(hex(tees), "0a 01 61 0a 01 62");
  assert.equal(
    fromBinary(aa.GetTeeTypeResponseSchema, new Uint8Array([0x0a, 0x03, 0x74, 0x64, 0x78])).tee,
    "tdx",
  );
  assert.equal(
    fromBinary(aa.ExtendRuntimeMeasurementRequestSchema, new Uint8Array()).RegisterIndex,
    undefined,
  );
});

Deno.test("CDH and keyprovider messages encode with upstream field numbers", () => {
  const mount = create(cdh.SecureMountRequestSchema, {
    volumeType: "v",
    options: { k: "x" },
    flags: ["ro"],
    mountPoint: "/m",
  });
  assert.equal(
    hex(toBinary(cdh.SecureMountRequestSchema, mount)),
    "0a 01 76 12 06 0a 01 6b 12 01 78 1a 02 72 6f 22 02 2f 6d",
  );
  const pull = create(cdh.ImagePullRequestSchema, { imageUrl: "i", bundlePath: "b" });
  assert.equal(hex(toBinary(cdh.ImagePullRequestSchema, pull)), "0a 01 69 12 01 62");
  const res = create(cdh.GetResourceRequestSchema, { ResourcePath: "kbs:///a/b/c" });
  assert.equal(
    fromBinary(cdh.GetResourceRequestSchema, toBinary(cdh.GetResourceRequestSchema, res))
      .ResourcePath,
    "kbs:///a/b/c",
  );
  const secret = toBinary(
    cdh.UnsealSecretInputSchema,
    create(cdh.UnsealSecretInputSchema, { secret: new Uint8Array([9]) }),
  );
  assert.equal(hex(secret), "0a 01 09");
  const kp = create(keyprovider.KeyProviderKeyWrapProtocolInputSchema, {
    KeyProviderKeyWrapProtocolInput: new Uint8Array([0x7b, 0x7d]),
  });
  assert.equal(hex(toBinary(keyprovider.KeyProviderKeyWrapProtocolInputSchema, kp)), "0a 02 7b 7d");
});

Deno.test("ttrpc envelopes and google.rpc.Status match runtime.md §1.6", () => {
  const ok = create(ttrpc.ResponseSchema, {
    status: create(rpc.StatusSchema, {}),
    payload: new Uint8Array([8, 1]),
  });
  assert.equal(hex(toBinary(ttrpc.ResponseSchema, ok)), "0a 00 12 02 08 01");
  const err = create(ttrpc.ResponseSchema, {
    status: create(rpc.StatusSchema, { code: 5, message: "not found" }),
  });
  assert.equal(
    hex(toBinary(ttrpc.ResponseSchema, err)),
    "0a 0d 08 05 12 09 6e 6f 74 20 66 6f 75 6e 64",
  );
  const req = create(ttrpc.RequestSchema, {
    service: "grpc.Health",
    method: "Check",
    timeoutNano: 30_000_000_000n,
  });
  assert.equal(
    hex(toBinary(ttrpc.RequestSchema, req)),
    "0a 0b 67 72 70 63 2e 48 65 61 6c 74 68 12 05 43 68 65 63 6b 20 80 d8 8e e1 6f",
  );
  const withMd = create(ttrpc.RequestSchema, { metadata: [{ key: "k", value: "v" }] });
  assert.equal(hex(toBinary(ttrpc.RequestSchema, withMd)), "2a 06 0a 01 6b 12 01 76");
});
