import assert from "node:assert/strict";
import { VerifierError } from "../types.ts";
import {
  fwidFromCert,
  NVIDIA_DEVICE_ROOT_SHA1,
  nvidiaRoot,
  parseCertChain,
  parseNvidiaReport,
  verifyNvidiaChain,
  verifyNvidiaDevice,
} from "./mod.ts";
import { makeTestPki, opaqueItem, signedPart, signReport } from "./_build.ts";
import { HOPPER_FWID, vector } from "./_testdata.ts";

const NOW = new Date("2026-01-01T00:00:00Z");
const NONCE = new Uint8Array(32).fill(0xab);

async function rejects(p: Promise<unknown>, code: string, message: string) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VerifierError, `expected VerifierError, got ${err}`);
    assert.equal(err.code, code);
    assert.equal(err.message, message);
    return true;
  });
}

Deno.test("nvidiaRoot() is the NVIDIA Device Identity CA pinned by SHA-1", async () => {
  const root = await nvidiaRoot();
  assert.equal(root.sha1, NVIDIA_DEVICE_ROOT_SHA1);
  assert.equal(root.cert.subject, "CN=NVIDIA Device Identity CA, O=NVIDIA");
  assert.ok(await root.cert.isSelfSigned());
});

Deno.test("fwidFromCert() reads the last 48 bytes of the DICE TcbInfo extension", async () => {
  const [leaf] = parseCertChain(await vector("hopper_signing_cert.pem"));
  assert.equal(fwidFromCert(leaf!), HOPPER_FWID);
});

Deno.test("verifyNvidiaChain() passes case 1 and fails cases 2-4 with Trustee's messages", async () => {
  const leaf = await verifyNvidiaChain(
    parseCertChain(await vector("hopper_cert_chain_case1.txt")),
    HOPPER_FWID,
    NOW,
  );
  assert.equal(leaf.subjectName.getField("CN")[0], "GH100 A01 GSP FMC LF");
  const cases: [string, string][] = [
    [
      "hopper_cert_chain_case2.txt",
      "Certificate chain must have at least the root CA and signing certificates",
    ],
    [
      "hopper_cert_chain_case3.txt",
      'Report certificate chain failed to verify (no issuer of "GH100 A01 GSP BROM" in the chain or the pinned root)',
    ],
    ["hopper_cert_chain_case4.txt", "FwId oid not found in the NVIDIA signing certificate"],
  ];
  for (const [file, msg] of cases) {
    await rejects(
      verifyNvidiaChain(parseCertChain(await vector(file)), HOPPER_FWID, NOW),
      "bad-certificate-chain",
      msg,
    );
  }
});

Deno.test("verifyNvidiaChain() refuses a chain ending in another root", async () => {
  const pki = await makeTestPki();
  await rejects(
    verifyNvidiaChain(parseCertChain(pki.chainPem), "07".repeat(48), NOW),
    "bad-certificate-chain",
    "Root CA in the certificate chain is not trusted",
  );
});

Deno.test("verifyNvidiaChain() rejects an unparsable certificate", async () => {
  const pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".repeat(2);
  await rejects(
    (async () => await verifyNvidiaChain(parseCertChain(pem), HOPPER_FWID, NOW))(),
    "bad-certificate-chain",
    "Certificate chain has a certificate that is not valid X.509",
  );
});

Deno.test("verifyNvidiaDevice() verifies a report signed by a synthetic PKI", async () => {
  const pki = await makeTestPki();
  const bytes = await signReport(signedPart({ nonce: NONCE }), pki.leafKey);
  const device = {
    arch: "Hopper" as const,
    uuid: "t",
    report: bytes,
    certificatePem: pki.chainPem,
  };
  const claims = await verifyNvidiaDevice(device, NONCE, NOW, pki.anchor);
  assert.deepStrictEqual(Object.keys(claims.measurements as object), ["1", "2"]);
  assert.equal((claims.config as Record<string, unknown>).vbios_version, "98.02.81.00.01");
  assert.equal(parseNvidiaReport(bytes).signedLength, bytes.length - 96);
  // Same report, other nonce expected → binding failure, not a signature failure.
  await rejects(
    verifyNvidiaDevice(device, new Uint8Array(32), NOW, pki.anchor),
    "report-data-mismatch",
    `Nvidia report nonce mismatch (report ${NONCE.toHex()}, expected ${"00".repeat(32)})`,
  );
  // Outside the synthetic validity → expired.
  await rejects(
    verifyNvidiaDevice(device, NONCE, new Date("2035-01-01T00:00:00Z"), pki.anchor),
    "expired",
    'Report certificate chain failed to verify ("Test GSP FMC LF" is valid 2024-01-01T00:00:00.000Z to 2034-01-01T00:00:00.000Z, not at 2035-01-01T00:00:00.000Z)',
  );
});

Deno.test("verifyNvidiaDevice() rejects an intermediate that is not a CA", async () => {
  const pki = await makeTestPki({ icaIsCa: false });
  const bytes = await signReport(signedPart({ nonce: NONCE }), pki.leafKey);
  await rejects(
    verifyNvidiaDevice(
      { arch: "Hopper", uuid: "t", report: bytes, certificatePem: pki.chainPem },
      NONCE,
      NOW,
      pki.anchor,
    ),
    "bad-certificate-chain",
    'Report certificate chain failed to verify ("Test ICA" is not a CA)',
  );
});

Deno.test("verifyNvidiaDevice() rejects an unknown critical extension", async () => {
  const pki = await makeTestPki({ leafCriticalOid: "1.2.3.4" });
  const bytes = await signReport(signedPart({ nonce: NONCE }), pki.leafKey);
  await rejects(
    verifyNvidiaDevice(
      { arch: "Hopper", uuid: "t", report: bytes, certificatePem: pki.chainPem },
      NONCE,
      NOW,
      pki.anchor,
    ),
    "bad-certificate-chain",
    'Report certificate chain failed to verify ("Test GSP FMC LF" has unsupported critical extension 1.2.3.4)',
  );
});

Deno.test("verifyNvidiaDevice() rejects a report signed by another key", async () => {
  const pki = await makeTestPki();
  const other = await makeTestPki();
  const bytes = await signReport(signedPart({ nonce: NONCE }), other.leafKey);
  await rejects(
    verifyNvidiaDevice(
      { arch: "Hopper", uuid: "t", report: bytes, certificatePem: pki.chainPem },
      NONCE,
      NOW,
      pki.anchor,
    ),
    "bad-signature",
    "NVIDIA report signature verification failed.",
  );
});

Deno.test("verifyNvidiaDevice() requires a fwid in the report", async () => {
  const pki = await makeTestPki();
  const opaque = new Uint8Array([...opaqueItem(3, "1"), ...opaqueItem(6, Uint8Array.of(1, 2))]);
  const bytes = await signReport(signedPart({ nonce: NONCE, opaque }), pki.leafKey);
  await rejects(
    verifyNvidiaDevice(
      { arch: "Hopper", uuid: "t", report: bytes, certificatePem: pki.chainPem },
      NONCE,
      NOW,
      pki.anchor,
    ),
    "bad-evidence",
    "Nvidia report fwid not found",
  );
});
