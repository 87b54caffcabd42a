import assert from "node:assert/strict";
import {
  HCL_REPORT_NV_INDEX,
  HCL_USER_DATA_NV_INDEX,
  parseHclReport,
  parseQuoteAttest,
  pcrDigest,
  TPM_ALG,
  TpmError,
} from "@coco/lib/tee/tpm";
import { AzVtpmError, type AzVtpmErrorCode } from "./az_errors.ts";
import { readAzVtpm } from "./az_vtpm.ts";
import { buildHclReport, FakeVtpm } from "./_az_testing.ts";

function isAzError(code: AzVtpmErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof AzVtpmError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  };
}

const RD = Uint8Array.from({ length: 48 }, (_, i) => i + 1);

Deno.test("readAzVtpm() writes padded user data, reads the refreshed HCL and quotes the report data unchanged", async () => {
  const tpm = await FakeVtpm.create("snp");
  const r = await readAzVtpm(tpm, RD, "snp");
  const userData = tpm.nv.get(HCL_USER_DATA_NV_INDEX)!;
  assert.equal(userData.data.length, 64);
  assert.deepEqual(userData.data.subarray(0, 48), RD);
  assert.deepEqual(userData.data.subarray(48), new Uint8Array(16));
  assert.deepEqual(r.hclBytes, tpm.nv.get(HCL_REPORT_NV_INDEX)!.data);
  assert.equal(r.hcl.userData, userData.data.toHex().toUpperCase());
  const message = Uint8Array.fromHex(r.tpmQuote.message);
  const info = parseQuoteAttest(message);
  assert.deepEqual(info.extraData, RD);
  const pcrs = r.tpmQuote.pcrs.map((p) => Uint8Array.fromHex(p));
  assert.equal(pcrs.length, 24);
  assert.deepEqual(await pcrDigest(TPM_ALG.SHA256, pcrs), info.pcrDigest);
  // The raw RSA signature verifies with the HCL's HCLAkPub.
  const ak = await crypto.subtle.importKey(
    "jwk",
    r.hcl.akJwk,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["verify"],
  );
  const sig = Uint8Array.fromHex(r.tpmQuote.signature);
  assert.equal(sig.length, 256);
  assert.ok(await crypto.subtle.verify("RSASSA-PKCS1-v1_5", ak, sig, message));
});

Deno.test("readAzVtpm() redefines a user-data index of the wrong size and keeps one of the right size", async () => {
  const tpm = await FakeVtpm.create("tdx");
  await tpm.nvDefineSpace(HCL_USER_DATA_NV_INDEX, 32, 0x123);
  await readAzVtpm(tpm, RD, "tdx");
  const e = tpm.nv.get(HCL_USER_DATA_NV_INDEX)!;
  assert.equal(e.data.length, 64);
  assert.equal(e.attributes, 0x20002);
  e.attributes = 0x777;
  await readAzVtpm(tpm, new Uint8Array(0), "tdx");
  assert.equal(tpm.nv.get(HCL_USER_DATA_NV_INDEX)!.attributes, 0x777);
  assert.deepEqual(tpm.nv.get(HCL_USER_DATA_NV_INDEX)!.data, new Uint8Array(64));
});

Deno.test("readAzVtpm() re-reads a stale HCL report until the paravisor refreshed it", async () => {
  const tpm = await FakeVtpm.create("snp", { paravisor: false });
  let reads = 0;
  const nvRead = tpm.nvRead.bind(tpm);
  tpm.nvRead = async (index, auth) => {
    if (index === HCL_REPORT_NV_INDEX && ++reads === 3) {
      await tpm.refreshHcl(tpm.nv.get(HCL_USER_DATA_NV_INDEX)!.data);
    }
    return nvRead(index, auth);
  };
  const r = await readAzVtpm(tpm, RD, "snp", { refresh: { attempts: 5, intervalMs: 0 } });
  assert.equal(reads, 3);
  assert.ok(r.hcl.userData?.startsWith(RD.toHex().toUpperCase()));
});

Deno.test("readAzVtpm() fails with hcl-stale when the user data never shows up", async () => {
  const tpm = await FakeVtpm.create("snp", { paravisor: false });
  await assert.rejects(
    readAzVtpm(tpm, RD, "snp", { refresh: { attempts: 2, intervalMs: 0 } }),
    isAzError("hcl-stale", /after 2 reads its user-data is 0000000000000000…, not the report data/),
  );
  assert.equal(tpm.quotes, 0);
});

Deno.test("readAzVtpm() runs the afterWrite hook (the swtpm paravisor) before reading", async () => {
  const tpm = await FakeVtpm.create("snp", { paravisor: false });
  const seen: string[] = [];
  await readAzVtpm(tpm, RD, "snp", {
    afterWrite: async (t, userData) => {
      seen.push(userData.toHex());
      await tpm.refreshHcl(await t.nvRead(HCL_USER_DATA_NV_INDEX, 0x40000001));
    },
  });
  assert.deepEqual(seen, [RD.toHex() + "00".repeat(16)]);
});

Deno.test("readAzVtpm() names each failing step", async (t) => {
  await t.step("report data over 64 bytes", async () => {
    const tpm = await FakeVtpm.create("snp");
    await assert.rejects(
      readAzVtpm(tpm, new Uint8Array(65), "snp"),
      isAzError("report-data-too-long", /report data is 65 bytes, at most 64/),
    );
    assert.equal(tpm.nv.has(HCL_USER_DATA_NV_INDEX), false);
  });
  await t.step("HCL NV index missing", async () => {
    const tpm = await FakeVtpm.create("snp", { paravisor: false });
    tpm.nv.delete(HCL_REPORT_NV_INDEX);
    await assert.rejects(
      readAzVtpm(tpm, RD, "snp"),
      isAzError("hcl-unavailable", /NV index 0x01400001: the index is not defined/),
    );
  });
  await t.step("HCL malformed: bad signature", async () => {
    const tpm = await FakeVtpm.create("snp", { paravisor: false });
    tpm.nv.get(HCL_REPORT_NV_INDEX)!.data[0] = 0;
    await assert.rejects(
      readAzVtpm(tpm, RD, "snp"),
      isAzError("hcl-malformed", /Cannot parse HCL report: signature is .*expected "HCLA"/),
    );
  });
  await t.step("HCL malformed: variable data is not JSON", async () => {
    const tpm = await FakeVtpm.create("snp", { paravisor: false });
    const hcl = tpm.nv.get(HCL_REPORT_NV_INDEX)!.data;
    hcl[1236] = 0x7b;
    hcl[1237] = 0x7b;
    await assert.rejects(
      readAzVtpm(tpm, RD, "snp"),
      isAzError("hcl-malformed", /variable data is not UTF-8 JSON/),
    );
  });
  await t.step("HCL of the other TEE", async () => {
    const tpm = await FakeVtpm.create("tdx");
    await assert.rejects(
      readAzVtpm(tpm, RD, "snp"),
      isAzError("hcl-wrong-type", /holds a tdx report, this attester needs snp/),
    );
  });
  await t.step("user data cannot be written", async () => {
    const tpm = await FakeVtpm.create("snp");
    tpm.nvWrite = () => Promise.reject(new TpmError("tpm-response", "TPM2_NV_Write failed: X"));
    await assert.rejects(
      readAzVtpm(tpm, RD, "snp"),
      isAzError("user-data-write", /NV index 0x01400002: TPM2_NV_Write failed: X/),
    );
  });
  await t.step("AK missing", async () => {
    const tpm = await FakeVtpm.create("snp");
    tpm.readPublic = () => Promise.reject(new TpmError("tpm-response", "TPM_RC_HANDLE"));
    await assert.rejects(
      readAzVtpm(tpm, RD, "snp"),
      isAzError("ak-unavailable", /AK 0x81000003: TPM_RC_HANDLE/),
    );
  });
  await t.step("AK is not HCLAkPub", async () => {
    const tpm = await FakeVtpm.create("snp");
    const other = await FakeVtpm.create("snp");
    tpm.readPublic = (h) => other.readPublic(h);
    await assert.rejects(
      readAzVtpm(tpm, RD, "snp"),
      isAzError("ak-mismatch", /is not the HCLAkPub of the HCL report/),
    );
  });
  await t.step("quote fails with a TPM error", async () => {
    const tpm = await FakeVtpm.create("snp");
    tpm.quoteError = new TpmError("tpm-response", "TPM2_Quote failed: TPM_RC_HANDLE");
    await assert.rejects(
      readAzVtpm(tpm, RD, "snp"),
      isAzError("quote-failed", /with AK 0x81000003: TPM2_Quote failed: TPM_RC_HANDLE/),
    );
  });
  await t.step("quote refuses 48 bytes of qualifying data", async () => {
    const tpm = await FakeVtpm.create("snp");
    tpm.quoteError = new TpmError("tpm-response", "TPM2_Quote failed: TPM_RC_SIZE", { rc: 0x1d5 });
    await assert.rejects(
      readAzVtpm(tpm, RD, "snp"),
      isAzError("quote-failed", /AK 0x81000003: Cannot quote: the TPM accepts no .* of 48 bytes/),
    );
  });
});

Deno.test("buildHclReport() output parses and binds REPORTDATA to the variable data", async () => {
  const tpm = await FakeVtpm.create("snp");
  for (const type of ["snp", "tdx"] as const) {
    const bytes = await buildHclReport({ reportType: type, akJwk: tpm.akJwk, userData: RD });
    const hcl = parseHclReport(bytes);
    assert.equal(hcl.reportType, type);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", hcl.varData as BufferSource));
    const at = type === "snp" ? 0x50 : 128;
    assert.deepEqual(hcl.hwReport.subarray(at, at + 32), hash);
    assert.equal(hcl.userData, RD.toHex().toUpperCase());
  }
});
