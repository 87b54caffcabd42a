import assert from "node:assert/strict";
import type { JsonValue } from "@coco/lib/json";
import { createVerifier, VerifierError } from "../mod.ts";
import { NvidiaVerifier } from "./mod.ts";
import { COCO_REPORT_DATA, evidenceOf, flipHex, HOPPER_NONCE, vector } from "./_testdata.ts";

const hopper = (await vector("hopperAttestationReport.txt")).trim();
const case1 = await vector("hopper_cert_chain_case1.txt");
const coco = (await vector("hopper_coco_report1.txt")).trim();
const cocoCerts = await vector("hopper_coco_certs1.txt");
const verifier = new NvidiaVerifier();
const DEV0 = "Cannot verify NVIDIA evidence: device 0 (Hopper, uuid unknown): ";
/** Hopper report: 37-byte request, signature = last 96 of 4117 bytes. */
const HOPPER_LEN = 4117;

async function rejects(p: Promise<unknown>, code: string, message: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VerifierError, `expected VerifierError, got ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

/** PEM chain with byte `at` (from the end when negative) of certificate `index`'s DER flipped. */
function flipCert(pem: string, index: number, at: number): string {
  let i = 0;
  return pem.replace(
    /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g,
    (m, body) => {
      if (i++ !== index) return m;
      const der = Uint8Array.fromBase64(String(body).replace(/\s+/g, ""));
      der[at < 0 ? der.length + at : at]! ^= 1;
      return `-----BEGIN CERTIFICATE-----\n${der.toBase64()}\n-----END CERTIFICATE-----`;
    },
  );
}

Deno.test("evaluate() reproduces Trustee's claims for the Hopper vector", async () => {
  const expected = JSON.parse(await vector("hopperAttestationReport-claims.txt"));
  const out = await verifier.evaluate({
    evidence: evidenceOf(hopper, case1, { uuid: "1111-2222-33333-444444-555555" }),
    reportData: HOPPER_NONCE,
  });
  assert.equal(out.length, 1);
  assert.equal(out[0]!.teeClass, "gpu");
  assert.deepStrictEqual(out[0]!.claims, expected);
});

Deno.test("evaluate() verifies the CoCo CI vector with 48-byte report data (nonce = first 32)", async () => {
  const [{ claims, teeClass }] = await verifier.evaluate({
    evidence: evidenceOf(coco, cocoCerts),
    reportData: COCO_REPORT_DATA,
  }) as [{ claims: Record<string, unknown>; teeClass: string }];
  assert.equal(teeClass, "gpu");
  assert.equal(claims.arch, "Hopper");
  assert.equal(claims.uuid, "unknown");
  const m = claims.measurements as Record<string, string>;
  assert.equal(Object.keys(m).length, 64);
  assert.equal(
    m["2"],
    "b558fdac9af53b91ff3bdb06ff589859d6fbc1050d875c88329347f24ff7b3d11ac53688ba56db03cf8751913107e0db",
  );
  const c = claims.config as Record<string, unknown>;
  assert.equal(
    c.fwid,
    "f1ae7d0093a3f5689cced58045c9744f94eb2aa4ddca88135197fb41a7be45576c2881cf920e2cbcc090b1cb921f7b2d",
  );
  assert.equal(c.driver_version, "580.95.05");
  assert.equal(c.vbios_version, "96.00.74.00.1a");
  assert.equal(c.opaque_data_version, 1);
  assert.equal(c.feature_flag, "SPT");
});

Deno.test("evaluate() accepts base64 evidence and the factory builds the verifier", async () => {
  const b64 = Uint8Array.fromHex(coco).toBase64();
  const out = await createVerifier("nvidia").evaluate({
    evidence: evidenceOf(b64, cocoCerts, { arch: "Hopper", uuid: "GPU-1" }),
    reportData: COCO_REPORT_DATA,
  });
  assert.equal(out[0]!.claims.uuid, "GPU-1");
});

Deno.test("evaluate() returns one gpu entry per device", async () => {
  const one = evidenceOf(coco, cocoCerts) as { device_evidence_list: JsonValue[] };
  const two = { device_evidence_list: [...one.device_evidence_list, ...one.device_evidence_list] };
  const out = await verifier.evaluate({ evidence: two, reportData: COCO_REPORT_DATA });
  assert.deepStrictEqual(out.map((o) => o.teeClass), ["gpu", "gpu"]);
});

const tampered: [string, () => string, string, string][] = [
  [
    "a signature byte",
    () => flipHex(hopper, HOPPER_LEN - 10),
    "bad-signature",
    "NVIDIA report signature verification failed.",
  ],
  [
    "a measurement value byte",
    () => flipHex(hopper, 37 + 8 + 60 + 10),
    "bad-signature",
    "NVIDIA report signature verification failed.",
  ],
  [
    "the request nonce",
    () => flipHex(hopper, 5),
    "bad-signature",
    "NVIDIA report signature verification failed.",
  ],
  [
    "the responder nonce",
    () => flipHex(hopper, 37 + 8 + 64 * 55),
    "bad-signature",
    "NVIDIA report signature verification failed.",
  ],
];
for (const [what, make, code, msg] of tampered) {
  Deno.test(`evaluate() fails when ${what} is flipped`, async () => {
    await rejects(
      verifier.evaluate({ evidence: evidenceOf(make(), case1), reportData: HOPPER_NONCE }),
      code,
      DEV0 + msg,
    );
  });
}

Deno.test("evaluate() fails when the report data does not match the request nonce", async () => {
  const other = COCO_REPORT_DATA.slice();
  other[31]! ^= 1;
  await rejects(
    verifier.evaluate({ evidence: evidenceOf(coco, cocoCerts), reportData: other }),
    "report-data-mismatch",
    `${DEV0}Nvidia report nonce mismatch (report ${
      COCO_REPORT_DATA.subarray(0, 32).toHex()
    }, expected ${other.subarray(0, 32).toHex()})`,
  );
  // Bytes past the 32nd are not bound (Trustee truncates to the SPDM nonce size).
  const tail = COCO_REPORT_DATA.slice();
  tail[40]! ^= 1;
  await verifier.evaluate({ evidence: evidenceOf(coco, cocoCerts), reportData: tail });
});

Deno.test("evaluate() requires report data", async () => {
  await rejects(
    verifier.evaluate({ evidence: evidenceOf(coco, cocoCerts) }),
    "report-data-mismatch",
    "Cannot verify NVIDIA evidence: Nvidia report data not provided (the report nonce must be bound to it)",
  );
});

Deno.test("evaluate() fails on a leaf certificate with a flipped signature byte", async () => {
  await rejects(
    verifier.evaluate({
      evidence: evidenceOf(coco, flipCert(cocoCerts, 0, -5)),
      reportData: COCO_REPORT_DATA,
    }),
    "bad-certificate-chain",
    `${DEV0}Report certificate chain failed to verify (no issuer of "GH100 A01 GSP FMC LF" in the chain or the pinned root)`,
  );
});

Deno.test("evaluate() fails when the chain belongs to another GPU (FWID mismatch)", async () => {
  await rejects(
    verifier.evaluate({ evidence: evidenceOf(coco, case1), reportData: COCO_REPORT_DATA }),
    "tcb-mismatch",
    `${DEV0}Fwid mismatch: certificate f5c384aebb579217a2c66b17ed0f28e6a9b8d639041acd7b4721cec004f7275494ba94bb5cdfdb3055ee051762b1f75d, evidence f1ae7d0093a3f5689cced58045c9744f94eb2aa4ddca88135197fb41a7be45576c2881cf920e2cbcc090b1cb921f7b2d`,
  );
});

Deno.test("evaluate() fails with upstream's messages for the bad chains (cases 2, 3, 4)", async () => {
  const cases: [string, string, string][] = [
    [
      "hopper_cert_chain_case2.txt",
      "bad-certificate-chain",
      "Certificate chain must have at least the root CA and signing certificates",
    ],
    [
      "hopper_cert_chain_case3.txt",
      "bad-certificate-chain",
      'Report certificate chain failed to verify (no issuer of "GH100 A01 GSP BROM" in the chain or the pinned root)',
    ],
    [
      "hopper_cert_chain_case4.txt",
      "bad-certificate-chain",
      "FwId oid not found in the NVIDIA signing certificate",
    ],
  ];
  for (const [file, code, msg] of cases) {
    await rejects(
      verifier.evaluate({
        evidence: evidenceOf(hopper, await vector(file)),
        reportData: HOPPER_NONCE,
      }),
      code,
      DEV0 + msg,
    );
  }
});

Deno.test("evaluate() checks certificate validity at options.now", async () => {
  const early = new NvidiaVerifier({ now: () => new Date("2022-02-01T00:00:00Z") });
  await rejects(
    early.evaluate({ evidence: evidenceOf(coco, cocoCerts), reportData: COCO_REPORT_DATA }),
    "expired",
    `${DEV0}Report certificate chain failed to verify ("NVIDIA GH100 Provisioner ICA 1" is valid 2022-03-01T00:00:00.000Z to 9999-12-31T23:59:59.000Z, not at 2022-02-01T00:00:00.000Z)`,
  );
  const later = new NvidiaVerifier({ now: () => new Date("2030-01-01T00:00:00Z") });
  await later.evaluate({ evidence: evidenceOf(coco, cocoCerts), reportData: COCO_REPORT_DATA });
});

Deno.test("evaluate() refuses architectures it cannot verify locally", async () => {
  await rejects(
    verifier.evaluate({
      evidence: evidenceOf(coco, cocoCerts, { arch: "BLACKWELL", uuid: "b" }),
      reportData: COCO_REPORT_DATA,
    }),
    "unsupported-tee",
    "Cannot verify NVIDIA evidence: device 0 (Blackwell, uuid b): Device architecture not supported (local verification is Hopper only)",
  );
});

Deno.test("evaluate() rejects malformed evidence JSON", async () => {
  const cases: [unknown, string][] = [
    [[], "NVIDIA evidence must be an object"],
    [{}, "device_evidence_list must be an array"],
    [{ device_evidence_list: [] }, "device_evidence_list is empty"],
    [
      { device_evidence_list: [{ arch: "Ampere", evidence: "00", certificate: "" }] },
      'device_evidence_list[0].arch "Ampere" is not one of Hopper, HOPPER, Blackwell, BLACKWELL, LS10',
    ],
    [
      { device_evidence_list: [{ arch: "Hopper", certificate: "" }] },
      "device_evidence_list[0].evidence must be a string",
    ],
    [
      { device_evidence_list: [{ arch: "Hopper", evidence: "zz!", certificate: "" }] },
      "device_evidence_list[0].evidence is neither hex nor base64",
    ],
    [
      { device_evidence_list: [{ arch: "Hopper", evidence: "00", certificate: "%%" }] },
      "device_evidence_list[0].certificate is not base64 of PEM text",
    ],
  ];
  for (const [evidence, msg] of cases) {
    await rejects(
      verifier.evaluate({ evidence: evidence as never, reportData: HOPPER_NONCE }),
      "bad-evidence",
      `Cannot verify NVIDIA evidence: ${msg}`,
    );
  }
});

Deno.test("evaluate() rejects a truncated report as bad evidence", async () => {
  await rejects(
    verifier.evaluate({
      evidence: evidenceOf(hopper.slice(0, 2 * 4100), case1),
      reportData: HOPPER_NONCE,
    }),
    "bad-evidence",
    `${DEV0}Signature overflow: needs 96 byte(s) at offset 4021, report has 4100`,
  );
});
