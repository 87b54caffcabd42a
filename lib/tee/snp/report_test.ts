import assert from "node:assert/strict";
import {
  decodeGuestPolicy,
  decodeKeyInfo,
  decodePlatformInfo,
  decodeTcb,
  encodeSnpReport,
  encodeTcb,
  parseSnpReport,
  productFromCpuid,
  SNP_SIGNED_SIZE,
  SnpFormatError,
  snpProductOf,
  snpSignatureP1363,
  snpSignedBytes,
} from "./mod.ts";

const SNP = new URL(
  "../../../../shared/testdata/trustee/deps/verifier/test_data/snp/",
  import.meta.url,
);
const vcekReport = Deno.readFileSync(new URL("test-report.bin", SNP));
const vlekReport = Deno.readFileSync(new URL("test-vlek-report.bin", SNP));

Deno.test("parseSnpReport() decodes the v2 Milan test report fields", () => {
  const r = parseSnpReport(vcekReport);
  assert.equal(r.version, 2);
  assert.equal(r.vmpl, 0);
  assert.equal(r.policy, 0x3001fn);
  assert.deepEqual(r.reported_tcb, { fmc: null, bootloader: 3, tee: 0, snp: 8, microcode: 115 });
  assert.equal(r.cpuid_fam_id, null);
  assert.equal(r.launch_mit_vector, null);
  assert.equal(r.report_data.subarray(0, 4).toHex(), "ec6c52d7");
  assert.equal(snpProductOf(r), undefined);
});

Deno.test("parseSnpReport() decodes the v3 VLEK report (vmpl 1, key_info VLEK)", () => {
  const r = parseSnpReport(vlekReport);
  assert.equal(r.version, 3);
  assert.equal(r.vmpl, 1);
  assert.equal(decodeKeyInfo(r.key_info).signingKey, "vlek");
  assert.equal(snpProductOf(r), "Milan");
  assert.deepEqual(r.reported_tcb, { fmc: null, bootloader: 4, tee: 0, snp: 24, microcode: 217 });
  assert.ok(r.chip_id.every((b) => b === 0));
});

Deno.test("encodeSnpReport() reproduces the shipped reports byte for byte", () => {
  for (const bytes of [vcekReport, vlekReport]) {
    assert.deepEqual(encodeSnpReport(parseSnpReport(bytes)), bytes);
    assert.deepEqual(snpSignedBytes(parseSnpReport(bytes)), bytes.slice(0, SNP_SIGNED_SIZE));
  }
});

Deno.test("encodeSnpReport() zeroes reserved bytes and writes v5 mitigation vectors", () => {
  const r = parseSnpReport(vlekReport);
  const v5 = { ...r, version: 5, launch_mit_vector: 0x1122n, current_mit_vector: 7n };
  const bytes = encodeSnpReport(v5);
  const back = parseSnpReport(bytes);
  assert.equal(back.launch_mit_vector, 0x1122n);
  assert.equal(back.current_mit_vector, 7n);
  const dirty = vlekReport.slice();
  dirty[0x4c] = 0xff; // reserved
  assert.deepEqual(encodeSnpReport(parseSnpReport(dirty)), vlekReport);
});

Deno.test("Turin reports use the FMC TCB layout", () => {
  const r = parseSnpReport(vlekReport);
  const turin = {
    ...r,
    cpuid_fam_id: 0x1a,
    cpuid_mod_id: 0x02,
    reported_tcb: { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5 },
  };
  const bytes = encodeSnpReport(turin);
  assert.deepEqual([...bytes.subarray(0x180, 0x188)], [1, 2, 3, 4, 0, 0, 0, 5]);
  assert.deepEqual(parseSnpReport(bytes).reported_tcb, turin.reported_tcb);
  assert.equal(snpProductOf(parseSnpReport(bytes)), "Turin");
});

Deno.test("TCB layouts and product detection follow the spec table", () => {
  const legacy = encodeTcb({ fmc: null, bootloader: 10, tee: 0, snp: 23, microcode: 25 }, "legacy");
  assert.deepEqual([...legacy], [10, 0, 0, 0, 0, 0, 23, 25]);
  assert.deepEqual(decodeTcb(legacy, "legacy").snp, 23);
  const cases: [number, number, string | undefined][] = [
    [0x19, 0x01, "Milan"],
    [0x19, 0x11, "Genoa"],
    [0x19, 0xa0, "Genoa"],
    [0x1a, 0x11, "Turin"],
    [0x1a, 0x12, undefined],
    [0x17, 0x31, undefined],
  ];
  for (const [f, m, want] of cases) assert.equal(productFromCpuid(f, m), want, `${f}/${m}`);
});

Deno.test("parseSnpReport() rejects wrong sizes, versions and CPUIDs", () => {
  const cases: [Uint8Array, string, RegExp][] = [
    [vcekReport.subarray(0, 1000), "invalid-report", /expected 1184 bytes, got 1000/],
    [Object.assign(vcekReport.slice(), { 0: 1 }), "unsupported-version", /version 1/],
    [Object.assign(vlekReport.slice(), { 0x188: 0x17 }), "unsupported-product", /family 0x17/],
  ];
  for (const [bytes, code, msg] of cases) {
    assert.throws(
      () => parseSnpReport(bytes),
      (e: unknown) => e instanceof SnpFormatError && e.code === code && msg.test(e.message),
    );
  }
});

Deno.test("snpSignatureP1363() reverses the little-endian R and S halves", () => {
  const r = parseSnpReport(vcekReport);
  const sig = snpSignatureP1363(r);
  assert.equal(sig.length, 96);
  assert.equal(sig[0], r.signature.r[47]);
  assert.equal(sig[95], r.signature.s[0]);
});

Deno.test("policy, platform and key-info decoders read the documented bits", () => {
  assert.deepEqual(decodeGuestPolicy(0x3001fn), {
    abiMinor: 0x1f,
    abiMajor: 0,
    smtAllowed: true,
    migrateMa: false,
    debugAllowed: false,
    singleSocket: false,
  });
  assert.equal(decodeGuestPolicy(1n << 19n).debugAllowed, true);
  assert.deepEqual(decodePlatformInfo(37n).smtEnabled, true);
  assert.deepEqual(decodePlatformInfo(37n).tsmeEnabled, false);
  assert.deepEqual(decodeKeyInfo(0x2), {
    authorKeyEnabled: false,
    maskChipKey: true,
    signingKey: "vcek",
  });
});
