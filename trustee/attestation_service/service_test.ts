/** The attestation service end to end in process: composite evidence, reference values, AAEL. */
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { nullLogger } from "@coco/lib/log";
import { ALG_SHA384, encodeAaelEvent } from "@coco/lib/eventlog";
import { sampleDeviceEvidence, sampleEvidence } from "@coco/lib/tee";
import { hashCanonical } from "@coco/lib/kbs";
import { createMemoryStorage } from "../storage/memory.ts";
import { Rvps } from "../rvps/mod.ts";
import type { Verifier } from "../verifier/mod.ts";
import { DEFAULT_TOKEN_BROKER } from "./ear.ts";
import { loadSigner } from "./signer.ts";
import { AttestationError, AttestationService, type VerificationRequest } from "./service.ts";

const b64 = (o: unknown) => new TextEncoder().encode(JSON.stringify(o)).toBase64();

async function service(verifierFor?: (tee: string) => Verifier) {
  const storage = createMemoryStorage();
  const rvps = new Rvps(storage.namespace("reference_value"));
  const as = await AttestationService.create({
    policies: storage.namespace("attestation_policy"),
    rvps,
    signer: await loadSigner(undefined),
    broker: DEFAULT_TOKEN_BROKER,
    logger: nullLogger,
    ...(verifierFor ? { verifierFor: verifierFor as never } : {}),
  });
  return { as, rvps };
}

type Submod = {
  "ear.status": string;
  "ear.trustworthiness-vector": Record<string, number>;
  "ear.veraison.annotated-evidence": Record<string, Record<string, unknown>>;
};

function requests(nonce: string, aael?: Uint8Array): VerificationRequest[] {
  const runtime = { nonce, "tee-pubkey": { kty: "EC" } };
  const primary = { ...runtime, "additional-evidence": "{}" };
  const rdPrimary = hashCanonical("sha384", primary);
  const rdDevice = hashCanonical("sha384", runtime);
  const evidence = sampleEvidence(rdPrimary) as Record<string, string>;
  return [
    {
      tee: "sample",
      evidence: aael ? { ...evidence, aa_eventlog: aael.toBase64() } : evidence,
      runtimeData: { structured: primary },
      hashAlgorithm: "sha384",
    },
    {
      tee: "sampledevice",
      evidence: sampleDeviceEvidence(rdDevice),
      runtimeData: { structured: runtime },
      hashAlgorithm: "sha384",
    },
  ];
}

Deno.test("evaluate() puts primary and device evidence in one EAR with cpu0 and gpu0", async () => {
  const { as, rvps } = await service();
  const before = decodeJwt(await as.evaluate(requests("n1"))).submods as Record<string, Submod>;
  assert.deepEqual(Object.keys(before), ["cpu0", "gpu0"]);
  assert.equal(before.cpu0!["ear.veraison.annotated-evidence"].sample!.svn, "1");
  assert.equal(before.gpu0!["ear.veraison.annotated-evidence"].sampledevice!.svn, "2");
  assert.deepEqual(
    before.gpu0!["ear.veraison.annotated-evidence"].runtime_data_claims,
    { nonce: "n1", "tee-pubkey": { kty: "EC" } },
  );
  // Without reference values the device's hardware claim stays at the default (97).
  assert.equal(before.gpu0!["ear.trustworthiness-vector"].hardware, 97);

  // A reference value for the device changes its appraisal, not the CPU's.
  await rvps.register(
    JSON.stringify({ version: "0.1.0", type: "sample", payload: b64({ device_svn: ["2"] }) }),
  );
  const after = decodeJwt(await as.evaluate(requests("n2"))).submods as Record<string, Submod>;
  assert.equal(after.gpu0!["ear.trustworthiness-vector"].hardware, 2);
  assert.equal(
    after.cpu0!["ear.trustworthiness-vector"].hardware,
    before.cpu0!["ear.trustworthiness-vector"].hardware,
  );
});

Deno.test("evaluate() fails the whole token when a device's evidence does not verify", async () => {
  const { as } = await service();
  const reqs = requests("n");
  reqs[1] = { ...reqs[1]!, runtimeData: { structured: { nonce: "other", "tee-pubkey": {} } } };
  await assert.rejects(
    as.evaluate(reqs),
    (e: unknown) =>
      e instanceof AttestationError && e.code === "verify" && /sampledevice/.test(e.message),
  );
});

Deno.test("evaluate() exposes AAEL entries of sample evidence to the policy input", async () => {
  const { as } = await service();
  await as.setPolicy(
    "default_cpu",
    `package policy
import rego.v1
default executables := 33
executables := 3 if {
  some e in input.sample.uefi_event_logs
  e.details.data.operation == "PullImage"
  e.details.data.content.image == "busybox"
}
trust_claims := {"executables": executables}
`,
  );
  const pull = encodeAaelEvent(
    {
      domain: "github.com/confidential-containers",
      operation: "PullImage",
      content: { image: "busybox" },
    },
    17,
    ALG_SHA384,
  );
  const other = encodeAaelEvent({ domain: "d", operation: "Other", content: "x" }, 17, ALG_SHA384);
  const tv = async (aael?: Uint8Array) =>
    ((decodeJwt(await as.evaluate(requests("n", aael).slice(0, 1))).submods as Record<
      string,
      Submod
    >)
      .cpu0!)["ear.trustworthiness-vector"].executables;
  assert.equal(await tv(pull.bytes), 3);
  assert.equal(await tv(other.bytes), 33);
  assert.equal(await tv(), 33);
});

Deno.test("evaluate() reuses one verifier per TEE (warm caches)", async () => {
  let made = 0;
  const { SampleVerifier, SampleDeviceVerifier } = await import("../verifier/mod.ts");
  const { as } = await service((tee) => {
    made++;
    return tee === "sample" ? new SampleVerifier() : new SampleDeviceVerifier();
  });
  await as.evaluate(requests("a"));
  await as.evaluate(requests("b"));
  assert.equal(made, 2);
});
