import assert from "node:assert/strict";
import type { JsonValue } from "@coco/lib/json";
import {
  AZURE_AK_HANDLE,
  parseHclReport,
  parseQuoteAttest,
  startSwtpm,
  type Swtpm,
  TpmClient,
} from "@coco/lib/tee/tpm";
import { findPeers, skipUnless } from "../../tests/peers.ts";
import { AzVtpmAttester, type AzVtpmAttesterOptions, AzVtpmError } from "./mod.ts";
import type { AzVtpmErrorCode } from "./az_errors.ts";
import { provisionAzureVtpm } from "./_az_testing.ts";
import type { UserDataHook } from "./az_vtpm.ts";

const peers = findPeers("swtpm");
const DER = Uint8Array.from([0x30, 0x82, 0x01, 0x00, ...new Array(40).fill(9)]);
const VCEK_PEM = `-----BEGIN CERTIFICATE-----\n${DER.toBase64()}\n-----END CERTIFICATE-----\n`;

/** A fetch standing in for IMDS; records the URLs asked for. */
function imdsFetch(urls: string[], answer: () => Response): typeof fetch {
  return (input) => {
    urls.push(String(input));
    return Promise.resolve(answer());
  };
}

function isAzError(code: AzVtpmErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof AzVtpmError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  };
}

/** Runs `fn` with a started swtpm, provisioned as an Azure vTPM unless `plain`. */
async function withVtpm(
  type: "snp" | "tdx" | "plain",
  fn: (sw: Swtpm, paravisor: UserDataHook | undefined) => Promise<void>,
) {
  const sw = await startSwtpm(peers.paths["swtpm"]);
  try {
    const tpm = await TpmClient.open({ socket: sw.socket });
    let paravisor: UserDataHook | undefined;
    try {
      await tpm.startup();
      if (type !== "plain") paravisor = (await provisionAzureVtpm(tpm, type)).paravisor;
    } finally {
      tpm.close();
    }
    await fn(sw, paravisor);
  } finally {
    await sw.stop();
  }
}

function attester(
  tee: "az-snp-vtpm" | "az-tdx-vtpm",
  sw: Swtpm,
  paravisor: UserDataHook | undefined,
  imds: AzVtpmAttesterOptions["imds"],
) {
  return new AzVtpmAttester(tee, {
    target: { socket: sw.socket },
    ...(paravisor ? { afterUserDataWrite: paravisor } : {}),
    ...(imds ? { imds } : {}),
    hclRefresh: { attempts: 1 },
  });
}

Deno.test({
  name: "AzVtpmAttester(az-snp-vtpm) returns evidence v2 with the hex quote, HCL and DER VCEK",
  ...skipUnless(peers, "AzVtpmAttester snp swtpm"),
  fn: () =>
    withVtpm("snp", async (sw, paravisor) => {
      const urls: string[] = [];
      const a = attester("az-snp-vtpm", sw, paravisor, {
        baseUrl: "http://imds.test/",
        fetch: imdsFetch(urls, () => Response.json({ vcekCert: VCEK_PEM, certificateChain: "" })),
      });
      const rd = crypto.getRandomValues(new Uint8Array(32));
      const ev = await a.primaryEvidence(rd) as Record<string, JsonValue>;
      assert.deepEqual(urls, ["http://imds.test/metadata/THIM/amd/certification"]);
      assert.equal(ev.version, 2);
      assert.equal(ev.vcek, DER.toBase64({ alphabet: "base64url" }));
      const q = ev.tpm_quote as { signature: string; message: string; pcrs: string[] };
      assert.match(q.signature, /^[0-9a-f]{512}$/);
      assert.deepEqual(parseQuoteAttest(Uint8Array.fromHex(q.message)).extraData, rd);
      assert.equal(q.pcrs.length, 24);
      const hcl = parseHclReport(
        Uint8Array.fromBase64(ev.hcl_report as string, { alphabet: "base64url" }),
      );
      assert.equal(hcl.reportType, "snp");
      assert.equal(hcl.userData, rd.toHex().toUpperCase() + "00".repeat(32));
    }),
});

Deno.test({
  name: "AzVtpmAttester binds init-data in PCR 8 once and matches it afterwards",
  ...skipUnless(peers, "AzVtpmAttester init-data swtpm"),
  fn: () =>
    withVtpm("tdx", async (sw, paravisor) => {
      const a = attester("az-tdx-vtpm", sw, paravisor, undefined);
      const digest = crypto.getRandomValues(new Uint8Array(32));
      assert.deepEqual(await a.bindInitData(digest), { status: "extended", field: "PCR8" });
      assert.deepEqual(await a.bindInitData(digest), { status: "matched", field: "PCR8" });
      const want = new Uint8Array(
        await crypto.subtle.digest("SHA-256", new Uint8Array([...new Uint8Array(32), ...digest])),
      );
      assert.deepEqual(await a.readPcr(8), want);
      await a.registers.extend(23, new Uint8Array(32).fill(1));
      assert.notDeepEqual(await a.registers.read(23), new Uint8Array(32));
    }),
});

Deno.test({
  name: "AzVtpmAttester errors name the step: IMDS down, no HCL index, no AK",
  ...skipUnless(peers, "AzVtpmAttester errors swtpm"),
  async fn() {
    await withVtpm("tdx", async (sw, paravisor) => {
      const a = attester("az-tdx-vtpm", sw, paravisor, {
        fetch: () => Promise.reject(new TypeError("connection refused")),
      });
      await assert.rejects(
        a.primaryEvidence(new Uint8Array(16)),
        isAzError("imds-unreachable", /TD quote from Azure IMDS .*connection refused/),
      );
      await assert.rejects(
        a.primaryEvidence(new Uint8Array(65)),
        isAzError("report-data-too-long", /65 bytes/),
      );
      const tpm = await TpmClient.open({ socket: sw.socket });
      try {
        await tpm.evictControl(AZURE_AK_HANDLE, AZURE_AK_HANDLE);
      } finally {
        tpm.close();
      }
      await assert.rejects(
        a.primaryEvidence(new Uint8Array(16)),
        isAzError("ak-unavailable", /AK 0x81000003: TPM2_ReadPublic failed: TPM_RC_HANDLE/),
      );
    });
    await withVtpm("plain", async (sw) => {
      const a = attester("az-snp-vtpm", sw, undefined, undefined);
      await assert.rejects(
        a.primaryEvidence(new Uint8Array(16)),
        isAzError("hcl-unavailable", /NV index 0x01400001: the index is not defined/),
      );
    });
  },
});
