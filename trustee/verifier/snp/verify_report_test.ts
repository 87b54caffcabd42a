import assert from "node:assert/strict";
import { AMD_ROOT_PEMS } from "./roots.ts";
import { verifySnpReport } from "./mod.ts";
import {
  azSnpReport,
  azVcekPem,
  flip,
  rejectsWith,
  snpFile,
  toPem,
  VLEK_CLOCK,
} from "./_testdata.ts";

const report = snpFile("test-report.bin");
const vcekPem = toPem(snpFile("test-vcek.der"));
const vlekReport = snpFile("test-vlek-report.bin");
const vlekPem = toPem(snpFile("test-vlek.der"));

Deno.test("verifySnpReport() verifies the v2 Milan test report with its VCEK", async () => {
  const { report: r, claims } = await verifySnpReport(report, vcekPem, {});
  assert.equal(r.version, 2);
  assert.equal(claims.reported_tcb_microcode, 115);
  assert.equal(claims.policy_abi_minor, 31);
  assert.equal(
    claims.report_data,
    "ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2" + "00".repeat(32),
  );
  assert.equal(
    claims.measurement,
    "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c",
  );
});

Deno.test("verifySnpReport() verifies the Azure HCL's SNP report with its VCEK+ASK+ARK PEM", async () => {
  const { claims } = await verifySnpReport(azSnpReport(), azVcekPem(), {});
  assert.equal(claims.reported_tcb_snp, 8);
});

Deno.test("verifySnpReport() checks the VLEK under the ASVK and enforces its validity", async () => {
  const { claims } = await verifySnpReport(vlekReport, vlekPem, { now: VLEK_CLOCK });
  assert.equal(claims.reported_tcb_microcode, 217);
  assert.equal(claims.reported_tcb_snp, 24);
  for (const when of ["2025-12-11T00:00:00Z", "2024-12-01T00:00:00Z"]) {
    await rejectsWith(
      verifySnpReport(vlekReport, vlekPem, { now: () => new Date(when) }),
      "expired",
      /validity check failed: VEK SEV-VLEK is valid from 2024-12-10T22:14:21\.000Z to 2025-12-10T22:14:21\.000Z/,
    );
  }
});

Deno.test("verifySnpReport() rejects tampered reports and certificates with the failing check", async () => {
  const cases: [string, () => Promise<unknown>, string, RegExp][] = [
    [
      "report byte 42",
      () => verifySnpReport(flip(report, 42), vcekPem, {}),
      "bad-signature",
      /report signature check failed/,
    ],
    [
      "report byte 384",
      () => verifySnpReport(flip(report, 384), vcekPem, {}),
      "tcb-mismatch",
      /TCB check failed: reported boot loader \(blSPL\) 4 differs from the VEK certificate's 3/,
    ],
    [
      "report data",
      () => verifySnpReport(flip(report, 0x50), vcekPem, {}),
      "bad-signature",
      /signature/,
    ],
    [
      "signature R",
      () => verifySnpReport(flip(report, 0x2a0), vcekPem, {}),
      "bad-signature",
      /signature/,
    ],
    [
      "signature S",
      () => verifySnpReport(flip(report, 0x2e8 + 5), vcekPem, {}),
      "bad-signature",
      /signature/,
    ],
    [
      "CHIP_ID",
      () => verifySnpReport(flip(report, 0x1a0), vcekPem, {}),
      "policy-violation",
      /hardware id check failed: CHIP_ID c48427a30d4c7af9… differs from the VCEK hwID c38427a30d4c7af9…/,
    ],
    [
      "VCEK byte 42",
      () => verifySnpReport(report, toPem(flip(snpFile("test-vcek.der"), 42)), {}),
      "bad-certificate-chain",
      /VCEK under ASK/,
    ],
    [
      "VLEK report byte 42",
      () => verifySnpReport(flip(vlekReport, 42), vlekPem, { now: VLEK_CLOCK }),
      "bad-signature",
      /SEV-VLEK key/,
    ],
    [
      "VLEK byte 42",
      () =>
        verifySnpReport(vlekReport, toPem(flip(snpFile("test-vlek.der"), 42)), { now: VLEK_CLOCK }),
      "bad-certificate-chain",
      /VLEK under ASVK/,
    ],
    [
      "VLEK report byte 384",
      () => verifySnpReport(flip(vlekReport, 384), vlekPem, { now: VLEK_CLOCK }),
      "tcb-mismatch",
      /boot loader/,
    ],
  ];
  for (const [name, run, code, msg] of cases) {
    await rejectsWith(run(), code as "bad-signature", msg).catch((e) => {
      throw new Error(`${name}: ${e.message}`);
    });
  }
});

Deno.test("verifySnpReport() rejects a foreign ARK and unusable inputs", async () => {
  const foreignArk = azVcekPem().replace(
    /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\s*$/,
    AMD_ROOT_PEMS.Genoa.ark,
  );
  await rejectsWith(
    verifySnpReport(azSnpReport(), foreignArk, {}),
    "bad-certificate-chain",
    /not AMD's ARK-Milan/,
  );
  await rejectsWith(
    verifySnpReport(report.subarray(1), vcekPem, {}),
    "bad-evidence",
    /expected 1184 bytes, got 1183/,
  );
  await rejectsWith(
    verifySnpReport(report, undefined, {}),
    "collateral-unavailable",
    /version 2 report without a VEK/,
  );
  await rejectsWith(
    verifySnpReport(report, AMD_ROOT_PEMS.Milan.ask, {}),
    "bad-certificate-chain",
    /holds no VCEK or VLEK/,
  );
});
