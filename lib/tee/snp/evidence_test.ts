import assert from "node:assert/strict";
import {
  encodeSnpCertTable,
  encodeSnpReport,
  parseSnpCertTable,
  parseSnpEvidence,
  parseSnpReport,
  snpEvidenceToJson,
  SnpFormatError,
  snpProductOf,
} from "./mod.ts";

const TD = new URL("../../../../shared/testdata/trustee/", import.meta.url);
const e2e = JSON.parse(
  Deno.readTextFileSync(new URL("attestation-service/tests/e2e/evidence.json", TD)),
);
const vlekReport = Deno.readFileSync(
  new URL("deps/verifier/test_data/snp/test-vlek-report.bin", TD),
);

const rejects = (value: unknown, code: string, msg: RegExp) =>
  assert.throws(
    () => parseSnpEvidence(value),
    (e: unknown) => e instanceof SnpFormatError && e.code === code && msg.test(e.message),
  );

Deno.test("parseSnpEvidence() reads the e2e Genoa evidence with its VCEK", () => {
  const ev = parseSnpEvidence(e2e);
  assert.equal(ev.report.version, 3);
  assert.equal(snpProductOf(ev.report), "Genoa");
  assert.equal(ev.report.measurement.toHex().slice(0, 8), "6a6519d7");
  assert.equal(ev.report.current_mit_vector, null);
  assert.equal(ev.certChain?.length, 1);
  assert.equal(ev.certChain?.[0]?.cert_type, "VCEK");
  assert.equal(ev.certChain?.[0]?.data.length, 1347);
});

Deno.test("snpEvidenceToJson() round-trips the e2e evidence exactly", () => {
  const ev = parseSnpEvidence(e2e);
  const json = snpEvidenceToJson(ev);
  const again = parseSnpEvidence(JSON.parse(JSON.stringify(json)));
  assert.deepEqual(encodeSnpReport(again.report), encodeSnpReport(ev.report));
  const want = structuredClone(e2e.attestation_report);
  want.launch_mit_vector = null;
  want.current_mit_vector = null;
  assert.deepEqual(json.attestation_report, want);
});

Deno.test("binary report → JSON → report keeps every byte", () => {
  const report = parseSnpReport(vlekReport);
  const json = snpEvidenceToJson({ report, certChain: null });
  assert.equal(json.cert_chain, null);
  assert.deepEqual(encodeSnpReport(parseSnpEvidence(json).report), vlekReport);
});

Deno.test("parseSnpEvidence() names the bad field", () => {
  const clone = () => structuredClone(e2e);
  const short = clone();
  short.attestation_report.report_data.pop();
  rejects(short, "invalid-evidence", /attestation_report\.report_data must hold 64 bytes, not 63/);
  const big = clone();
  big.attestation_report.measurement[3] = 256;
  rejects(big, "invalid-evidence", /attestation_report\.measurement\[3\] must be an integer/);
  const noVer = clone();
  delete noVer.attestation_report.version;
  rejects(noVer, "invalid-evidence", /attestation_report\.version is missing/);
  const v9 = clone();
  v9.attestation_report.version = 9;
  rejects(v9, "unsupported-version", /version 9/);
  const ct = clone();
  ct.cert_chain[0].cert_type = "PEK";
  rejects(ct, "invalid-evidence", /cert_chain\[0\]\.cert_type names an unknown certificate type/);
  rejects([], "invalid-evidence", /snp evidence must be an object/);
  const other = clone();
  other.cert_chain[0].cert_type = { OTHER: "ABC" };
  assert.deepEqual(parseSnpEvidence(other).certChain?.[0]?.cert_type, { OTHER: "abc" });
});

Deno.test("certificate table encodes and parses GUID entries", () => {
  const entries = [
    { cert_type: "VCEK" as const, data: new Uint8Array([1, 2, 3]) },
    { cert_type: "ASK" as const, data: new Uint8Array([4]) },
    { cert_type: { OTHER: "11111111-2222-3333-4444-555555555555" }, data: new Uint8Array([5]) },
  ];
  const table = encodeSnpCertTable(entries);
  assert.equal(table.subarray(0, 4).toHex(), "63da758d");
  assert.deepEqual(parseSnpCertTable(table), entries);
  assert.deepEqual(parseSnpCertTable(new Uint8Array()), []);
});

Deno.test("parseSnpCertTable() rejects truncated tables and out-of-range entries", () => {
  const table = encodeSnpCertTable([{ cert_type: "VCEK", data: new Uint8Array(10) }]);
  for (
    const [bytes, msg] of [
      [table.subarray(0, 30), /outside|no terminator/],
      [table.subarray(0, 20), /no terminator/],
    ] as const
  ) {
    assert.throws(
      () => parseSnpCertTable(bytes),
      (e: unknown) =>
        e instanceof SnpFormatError && e.code === "invalid-cert-table" && msg.test(e.message),
    );
  }
});
