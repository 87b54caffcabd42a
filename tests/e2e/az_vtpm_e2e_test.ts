/**
 * Azure vTPM attesters end to end with a real software TPM: swtpm is provisioned like an Azure
 * CVM's vTPM (an RSA AK made persistent at 0x81000003, NV index 0x01400001 holding an HCL report
 * built here), a loopback fake Azure IMDS serves the VCEK / TD quote, and the evidence the
 * `az-snp-vtpm` / `az-tdx-vtpm` attesters produce is checked by OUR trustee verifiers.
 *
 * A real SNP signature cannot be made, so the SNP hardware report is upstream's genuine Milan
 * report from `az-snp-vtpm/evidence-v2.json` (with its VCEK) whose REPORTDATA[0..32] we overwrite
 * with SHA-256 of our variable data: the verifier passes the AK signature, nonce, PCR digest,
 * report-data binding and user-data checks, the AMD chain, hardware id and TCB, and fails exactly
 * at the report signature. Azure's paravisor regenerates the HCL report when user data is written
 * to NV index 0x01400002; here the attester's `afterUserDataWrite` hook does it (see README).
 */
import assert from "node:assert/strict";
import type { JsonValue } from "@coco/lib/json";
import { parseSnpReport } from "@coco/lib/tee/snp";
import { parseTdxQuote } from "@coco/lib/tee/tdx";
import {
  HCL_REPORT_NV_INDEX,
  parseHclReport,
  startSwtpm,
  type Swtpm,
  TpmClient,
} from "@coco/lib/tee/tpm";
import { createAttester, type UserDataHook } from "../../guest/attester/mod.ts";
import { provisionAzureVtpm } from "../../guest/attester/_az_testing.ts";
import { AzSnpVtpmVerifier } from "../../trustee/verifier/az_snp_vtpm/mod.ts";
import { AzTdxVtpmVerifier } from "../../trustee/verifier/az_tdx_vtpm/mod.ts";
import { VerifierError } from "../../trustee/verifier/types.ts";
import { findPeers, requireAlso, skipUnless } from "../peers.ts";

const VECTORS = new URL(
  "../../../shared/testdata/trustee/deps/verifier/test_data/",
  import.meta.url,
);
const haveVectors = await Deno.stat(VECTORS).then(() => true, () => false);
const peers = requireAlso(
  findPeers("swtpm"),
  haveVectors,
  `${VECTORS.pathname} is missing (shared/ testdata not beside the checkout)`,
);

const NOW = () => new Date("2025-06-01T00:00:00Z");
/** libtpms' MAX_NV_INDEX_SIZE: our HCL reports are smaller than Azure's 2600-byte index. */
const SWTPM_MAX_NV_INDEX = 2048;

interface Vtpm {
  sw: Swtpm;
  akJwk: { n: string; e: string };
  /** Regenerates the HCL report in the swtpm for the user data just written. */
  paravisor: UserDataHook;
}

/** A swtpm provisioned like an Azure vTPM with `hwReport` inside its HCL reports. */
async function azureSwtpm(type: "snp" | "tdx", hwReport?: Uint8Array): Promise<Vtpm> {
  const sw = await startSwtpm(peers.paths["swtpm"]);
  const tpm = await TpmClient.open({ socket: sw.socket });
  try {
    await tpm.startup();
    const { akJwk, paravisor } = await provisionAzureVtpm(tpm, type, hwReport);
    const size = (await tpm.nvReadPublic(HCL_REPORT_NV_INDEX)).size;
    assert.ok(size <= SWTPM_MAX_NV_INDEX, `HCL report of ${size} bytes`);
    tpm.close();
    return { sw, akJwk, paravisor };
  } catch (err) {
    tpm.close();
    await sw.stop();
    throw err;
  }
}

interface FakeImds {
  baseUrl: string;
  tdReports: Uint8Array[];
  close(): Promise<void>;
}

function pem(der: Uint8Array): string {
  const lines = der.toBase64().match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN CERTIFICATE-----\n${lines}\n-----END CERTIFICATE-----\n`;
}

/** Loopback Azure IMDS: THIM certification and the TD quote service. */
function fakeImds(vcek: Uint8Array, tdQuote: Uint8Array): FakeImds {
  const tdReports: Uint8Array[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/metadata/THIM/amd/certification") {
      if (req.headers.get("Metadata") !== "true") return new Response("no header", { status: 400 });
      return Response.json({ vcekCert: pem(vcek), certificateChain: "", tcbm: "" });
    }
    if (req.method === "POST" && path === "/acc/tdquote") {
      const { report } = await req.json();
      tdReports.push(Uint8Array.fromBase64(report, { alphabet: "base64url" }));
      return Response.json({ quote: tdQuote.toBase64({ alphabet: "base64url" }) });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}`,
    tdReports,
    close: () => server.shutdown(),
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VerifierError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

const sha256 = async (b: Uint8Array) =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", b as BufferSource));

Deno.test({
  name: "az-snp-vtpm attester on swtpm + fake IMDS: our verifier passes every vTPM check and " +
    "fails only at the (unsignable) SNP report signature",
  ...skipUnless(peers, "az-snp-vtpm e2e"),
  async fn() {
    const v2 = JSON.parse(
      await Deno.readTextFile(new URL("az-snp-vtpm/evidence-v2.json", VECTORS)),
    );
    const upstreamHcl = parseHclReport(
      Uint8Array.fromBase64(v2.hcl_report, { alphabet: "base64url" }),
    );
    const vcek = Uint8Array.fromBase64(v2.vcek, { alphabet: "base64url" });
    const vtpm = await azureSwtpm("snp", upstreamHcl.hwReport);
    const imds = fakeImds(vcek, new Uint8Array());
    try {
      const attester = createAttester({
        tee: "az-snp-vtpm",
        target: { socket: vtpm.sw.socket },
        imds: { baseUrl: imds.baseUrl },
        afterUserDataWrite: vtpm.paravisor,
      });
      const initData = await sha256(new TextEncoder().encode('algorithm = "sha256"\n'));
      assert.deepEqual(await attester.bindInitData(initData), {
        status: "extended",
        field: "PCR8",
      });
      await attester.registers!.extend(23, await sha256(new Uint8Array([1])));
      const rd = crypto.getRandomValues(new Uint8Array(48));
      const evidence = await attester.primaryEvidence(rd) as Record<string, JsonValue>;
      assert.deepEqual(Object.keys(evidence).sort(), [
        "hcl_report",
        "tpm_quote",
        "vcek",
        "version",
      ]);
      assert.equal(evidence.version, 2);
      assert.equal(evidence.vcek, vcek.toBase64({ alphabet: "base64url" }));

      // The real verifier: everything up to the SNP report signature passes.
      await rejectsWith(
        new AzSnpVtpmVerifier({ now: NOW }).evaluate({
          evidence,
          reportData: rd,
          initDataHash: initData,
        }),
        "bad-signature",
        /report signature check failed/,
      );
      // With the SNP report check stubbed, the rest of the verifier accepts the evidence.
      const stub = new AzSnpVtpmVerifier(
        { now: NOW },
        (report) => Promise.resolve({ report: parseSnpReport(report) }),
      );
      const [out] = await stub.evaluate({ evidence, reportData: rd, initDataHash: initData });
      const claims = out!.claims as Record<string, JsonValue>;
      assert.equal(claims.report_data, rd.toHex());
      const pcr8 = await sha256(new Uint8Array([...new Uint8Array(32), ...initData]));
      assert.equal(claims.init_data, pcr8.toHex());
      assert.equal((claims.tpm as Record<string, string>).pcr08, pcr8.toHex());
      assert.notEqual((claims.tpm as Record<string, string>).pcr23, "00".repeat(32));
      // Each check is what makes it pass: another nonce, a tampered PCR, other init-data fail.
      await rejectsWith(
        stub.evaluate({ evidence, reportData: new Uint8Array(48), initDataHash: initData }),
        "report-data-mismatch",
        /nonce does not match/,
      );
      const tq = evidence.tpm_quote as { pcrs: string[] };
      const tampered = {
        ...evidence,
        tpm_quote: { ...tq, pcrs: tq.pcrs.with(3, "11".repeat(32)) },
      };
      await rejectsWith(
        stub.evaluate({ evidence: tampered, reportData: rd }),
        "bad-signature",
        /PCR/,
      );
      await rejectsWith(
        stub.evaluate({ evidence, reportData: rd, initDataHash: new Uint8Array(32) }),
        "init-data-mismatch",
        /PCR ?8|init/i,
      );
    } finally {
      await imds.close();
      await vtpm.sw.stop();
    }
  },
});

Deno.test({
  name: "az-tdx-vtpm attester on swtpm + fake IMDS: TDREPORT sent to IMDS, vTPM checks pass",
  ...skipUnless(peers, "az-tdx-vtpm e2e"),
  async fn() {
    const tdQuote = await Deno.readFile(new URL("az-tdx-vtpm/td-quote.bin", VECTORS));
    const vtpm = await azureSwtpm("tdx");
    const imds = fakeImds(new Uint8Array(), tdQuote);
    try {
      const attester = createAttester({
        tee: "az-tdx-vtpm",
        target: { socket: vtpm.sw.socket },
        imds: { baseUrl: imds.baseUrl },
        afterUserDataWrite: vtpm.paravisor,
      });
      const rd = crypto.getRandomValues(new Uint8Array(64));
      const evidence = await attester.primaryEvidence(rd) as Record<string, JsonValue>;
      assert.deepEqual(Object.keys(evidence).sort(), [
        "hcl_report",
        "td_quote",
        "tpm_quote",
        "version",
      ]);
      const hcl = parseHclReport(
        Uint8Array.fromBase64(evidence.hcl_report as string, { alphabet: "base64url" }),
      );
      assert.equal(imds.tdReports.length, 1);
      assert.deepEqual(imds.tdReports[0], hcl.hwReport.subarray(0, 1024));
      assert.equal(hcl.userData, rd.toHex().toUpperCase());

      // The genuine upstream TD quote is bound to upstream's variable data, not ours: our
      // verifier gets past the vTPM checks and the quote signatures and stops at that binding.
      await rejectsWith(
        new AzTdxVtpmVerifier({ now: NOW }).evaluate({ evidence, reportData: rd }),
        "report-data-mismatch",
        /TDX Quote report data mismatch/,
      );
      // A quote check that reports our variable-data hash lets the rest pass.
      const varHash = await sha256(hcl.varData);
      const stub = new AzTdxVtpmVerifier({ now: NOW }, (quote) => {
        const q = parseTdxQuote(quote);
        const reportData = new Uint8Array(64);
        reportData.set(varHash);
        return Promise.resolve({ quote: { ...q, body: { ...q.body, reportData } }, claims: {} });
      });
      const [out] = await stub.evaluate({ evidence, reportData: rd });
      assert.equal((out!.claims as Record<string, JsonValue>).report_data, rd.toHex());
    } finally {
      await imds.close();
      await vtpm.sw.stop();
    }
  },
});
