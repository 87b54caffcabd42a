import assert from "node:assert/strict";
import {
  encodeSnpCertTable,
  encodeSnpReport,
  parseSnpCertTable,
  parseSnpEvidence,
  parseSnpReport,
  snpEvidenceToJson,
} from "@coco/lib/tee/snp";
import type { JsonValue } from "@coco/lib/json";
import { createVerifier } from "../mod.ts";
import { SnpVerifier } from "./mod.ts";
import { pemToDers } from "./x509.ts";
import { AMD_ROOT_PEMS } from "./roots.ts";
import { E2E_CLAIMS, e2eEvidence, flip, rejectsWith, snpFile, VLEK_CLOCK } from "./_testdata.ts";

const verifier = new SnpVerifier();
const rd = () => Uint8Array.from(e2eEvidence().attestation_report.report_data);
const evaluate = (
  evidence: unknown,
  extra: { reportData?: Uint8Array; initDataHash?: Uint8Array } = {},
) => verifier.evaluate({ evidence: evidence as JsonValue, ...extra });

Deno.test("SnpVerifier verifies the e2e Genoa evidence with Trustee's claims", async () => {
  const out = await evaluate(e2eEvidence(), { reportData: rd(), initDataHash: new Uint8Array(32) });
  assert.deepEqual(out, [{ claims: E2E_CLAIMS, teeClass: "cpu" }]);
});

Deno.test("createVerifier('snp', {now, collateralDir}) builds a working SnpVerifier", async () => {
  const v = createVerifier("snp", {
    now: () => new Date("2026-01-01"),
    collateralDir: "/nonexistent",
  });
  assert.ok(v instanceof SnpVerifier);
  assert.equal(v.tee, "snp");
  assert.equal((await v.evaluate({ evidence: e2eEvidence() }))[0]?.claims.reported_tcb_snp, 23);
});

Deno.test("SnpVerifier binds REPORT_DATA (padded to 64) and HOST_DATA (padded to 32)", async () => {
  await rejectsWith(
    evaluate(e2eEvidence(), { reportData: rd().subarray(0, 48) }),
    "report-data-mismatch",
    /report data check failed/,
  );
  await rejectsWith(
    evaluate(e2eEvidence(), { reportData: flip(rd(), 0) }),
    "report-data-mismatch",
    /REPORT_DATA does not match/,
  );
  await rejectsWith(
    evaluate(e2eEvidence(), { initDataHash: new Uint8Array(32).fill(1) }),
    "init-data-mismatch",
    /host data check failed/,
  );
  // A shorter all-zero digest regularizes to the zero HOST_DATA.
  await evaluate(e2eEvidence(), { initDataHash: new Uint8Array(16) });
});

Deno.test("SnpVerifier rejects tampered e2e evidence naming the check", async () => {
  type Ev = ReturnType<typeof e2eEvidence>;
  const cases: [string, (e: Ev) => void, string, RegExp][] = [
    [
      "measurement",
      (e) => e.attestation_report.measurement[0]! ^= 1,
      "bad-signature",
      /report signature check failed/,
    ],
    ["report_data", (e) => e.attestation_report.report_data[5]! ^= 1, "bad-signature", /signature/],
    ["signature", (e) => e.attestation_report.signature.r[0]! ^= 1, "bad-signature", /signature/],
    ["vmpl", (e) => e.attestation_report.vmpl = 1, "bad-signature", /signature/],
    [
      "reported TCB",
      (e) => e.attestation_report.reported_tcb.microcode = 26,
      "tcb-mismatch",
      /TCB check failed: reported microcode \(ucodeSPL\) 26 differs from the VEK certificate's 25/,
    ],
    [
      "chip id",
      (e) => e.attestation_report.chip_id[63]! ^= 1,
      "policy-violation",
      /hardware id check failed/,
    ],
    [
      "certificate",
      (e) => e.cert_chain![0]!.data[42]! ^= 1,
      "bad-certificate-chain",
      /chain check failed \(VCEK under ASK \(SEV-Genoa\)\)/,
    ],
    [
      "garbage certificate",
      (e) => e.cert_chain![0]!.data = [1, 2, 3],
      "bad-certificate-chain",
      /VCEK in cert_chain is not a valid X\.509/,
    ],
    [
      "no VEK",
      (e) => e.cert_chain![0]!.cert_type = "ASK",
      "bad-certificate-chain",
      /holds no VCEK or VLEK/,
    ],
    [
      "version 2",
      (e) => e.attestation_report.version = 2,
      "bad-evidence",
      /version 2 is not accepted/,
    ],
    ["family", (e) => e.attestation_report.cpuid_fam_id = 0x17, "bad-evidence", /family 0x17/],
    [
      "field",
      (e) => delete (e.attestation_report as Record<string, unknown>).measurement,
      "bad-evidence",
      /attestation_report\.measurement is missing/,
    ],
  ];
  for (const [name, mutate, code, msg] of cases) {
    const ev = e2eEvidence();
    mutate(ev);
    await rejectsWith(evaluate(ev), code as "bad-signature", msg).catch((e) => {
      throw new Error(`${name}: ${e.message}`);
    });
  }
});

Deno.test("SnpVerifier accepts AMD's ARK in cert_chain and rejects a foreign one", async () => {
  const withArk = (pem: string) => {
    const ev = e2eEvidence();
    ev.cert_chain!.push({ cert_type: "ARK", data: [...pemToDers(pem)[0]!] });
    return ev;
  };
  await evaluate(withArk(AMD_ROOT_PEMS.Genoa.ark));
  await rejectsWith(
    evaluate(withArk(AMD_ROOT_PEMS.Milan.ark)),
    "bad-certificate-chain",
    /not AMD's ARK-Genoa/,
  );
});

Deno.test("SnpVerifier checks VMPL after the signature (VLEK report at VMPL 1)", async () => {
  const evidence = snpEvidenceToJson({
    report: parseSnpReport(snpFile("test-vlek-report.bin")),
    certChain: [{ cert_type: "VLEK", data: snpFile("test-vlek.der") }],
  });
  await rejectsWith(
    new SnpVerifier({ now: VLEK_CLOCK }).evaluate({ evidence }),
    "policy-violation",
    /VMPL check failed: the report was requested at VMPL 1/,
  );
  await rejectsWith(new SnpVerifier().evaluate({ evidence }), "expired", /SEV-VLEK/);
});

Deno.test("evidence built the attester's way (binary report + GHCB table) verifies", async () => {
  const ev = parseSnpEvidence(e2eEvidence());
  const table = encodeSnpCertTable(ev.certChain!);
  const evidence = snpEvidenceToJson({
    report: parseSnpReport(encodeSnpReport(ev.report)),
    certChain: parseSnpCertTable(table),
  });
  const out = await evaluate(JSON.parse(JSON.stringify(evidence)), { reportData: rd() });
  assert.deepEqual(out[0]?.claims, E2E_CLAIMS);
});
