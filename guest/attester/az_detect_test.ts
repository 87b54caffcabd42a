import assert from "node:assert/strict";
import { HCL_REPORT_NV_INDEX, startSwtpm, TpmClient } from "@coco/lib/tee/tpm";
import { findPeers, skipUnless } from "../../tests/peers.ts";
import {
  AttesterError,
  AzVtpmAttester,
  createAttester,
  detectTee,
  resolveAttesterConfig,
  type TeeProbes,
} from "./mod.ts";
import { SEV_GUEST_DIR, TDX_GUEST_DEVICE } from "./detect.ts";
import { azureHclType } from "./az_detect.ts";
import { buildHclReport } from "./_az_testing.ts";

const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });

function probes(
  paths: string[],
  azure: "snp" | "tdx" | undefined,
  provider?: string,
  asked: (string | undefined)[] = [],
): TeeProbes {
  return {
    exists: (p) => Promise.resolve(paths.includes(p)),
    tsmProvider: () => Promise.resolve(provider),
    azureHclType: (device) => {
      asked.push(device);
      return Promise.resolve(azure);
    },
  };
}

Deno.test("detectTee() puts the Azure vTPMs after TDX and before SNP, CCA and TPM, as upstream", async () => {
  assert.equal(await detectTee(probes([TDX_GUEST_DEVICE], "tdx")), "tdx");
  assert.equal(await detectTee(probes([], "snp", "tdx_guest")), "tdx");
  assert.equal(await detectTee(probes([SEV_GUEST_DIR, "/dev/tpm0"], "tdx")), "az-tdx-vtpm");
  assert.equal(await detectTee(probes([SEV_GUEST_DIR, "/dev/tpm0"], "snp")), "az-snp-vtpm");
  assert.equal(await detectTee(probes([], "snp", "arm_cca_guest")), "az-snp-vtpm");
  assert.equal(await detectTee(probes([SEV_GUEST_DIR], undefined)), "snp");
  assert.equal(await detectTee(probes(["/dev/tpm0"], undefined)), "tpm");
  const asked: (string | undefined)[] = [];
  await detectTee(probes([], undefined, undefined, asked), "/dev/tpmrm7");
  assert.deepEqual(asked, ["/dev/tpmrm7"]);
  // Probes without an Azure check (older callers) never report an Azure CVM.
  const plain: TeeProbes = {
    exists: (p) => Promise.resolve(p === "/dev/tpm0"),
    tsmProvider: () => Promise.resolve(undefined),
  };
  assert.equal(await detectTee(plain), "tpm");
});

Deno.test("resolveAttesterConfig() configures the Azure vTPM attesters", async () => {
  assert.deepEqual(
    await resolveAttesterConfig({
      flag: "az-snp-vtpm",
      env: env({ AA_TPM_DEVICE: "unix:///run/vtpm.sock" }),
      probes: probes([], undefined),
    }),
    { tee: "az-snp-vtpm", target: { socket: "/run/vtpm.sock" } },
  );
  assert.deepEqual(
    await resolveAttesterConfig({
      env: env({}),
      probes: probes(["/dev/tpm0", "/dev/tpmrm0"], "tdx"),
    }),
    { tee: "az-tdx-vtpm", target: { device: "/dev/tpmrm0" } },
  );
  assert.deepEqual(
    await resolveAttesterConfig({
      config: "az-tdx-vtpm",
      tpm: { device: "/dev/tpmrm1" },
      env: env({}),
      probes: probes([], undefined),
    }),
    { tee: "az-tdx-vtpm", target: { device: "/dev/tpmrm1" } },
  );
  await assert.rejects(
    resolveAttesterConfig({ flag: "az-tdx-vtpm", env: env({}), probes: probes([], undefined) }),
    (e: unknown) =>
      e instanceof AttesterError && e.code === "no-tee" &&
      /Cannot use TEE `az-tdx-vtpm`: no vTPM found/.test(e.message),
  );
  await assert.rejects(
    resolveAttesterConfig({ env: env({}), probes: probes([], undefined) }),
    (e: unknown) =>
      e instanceof AttesterError && e.code === "no-tee" && /the vTPM HCL report/.test(e.message),
  );
});

Deno.test("createAttester() builds AzVtpmAttester for both Azure TEEs", () => {
  for (const tee of ["az-snp-vtpm", "az-tdx-vtpm"] as const) {
    const a = createAttester({ tee, target: { socket: "/nonexistent" } });
    assert.ok(a instanceof AzVtpmAttester);
    assert.equal(a.tee, tee);
    assert.deepEqual(a.additionalTees, []);
    assert.ok(a.registers);
    assert.equal(a.registers.logIndex(17), 17);
  }
});

const peers = findPeers("swtpm");

Deno.test({
  name: "azureHclType() reads the HCL report type from a swtpm, undefined when absent or bad",
  ...skipUnless(peers, "azureHclType swtpm"),
  async fn() {
    const sw = await startSwtpm(peers.paths["swtpm"]);
    // swtpm serves one connection at a time: every step opens and closes its own.
    const withTpm = async (fn: (tpm: TpmClient) => Promise<void>) => {
      const tpm = await TpmClient.open({ socket: sw.socket });
      try {
        await fn(tpm);
      } finally {
        tpm.close();
      }
    };
    try {
      await withTpm((tpm) => tpm.startup());
      const target = { socket: sw.socket };
      assert.equal(await azureHclType(target), undefined);
      const jwk = { n: "AQAB", e: "AQAB" };
      const hcl = await buildHclReport({
        reportType: "tdx",
        akJwk: jwk,
        userData: new Uint8Array(64),
      });
      await withTpm(async (tpm) => {
        await tpm.nvDefineSpace(HCL_REPORT_NV_INDEX, hcl.length);
        await tpm.nvWrite(HCL_REPORT_NV_INDEX, hcl);
      });
      assert.equal(await azureHclType(target), "tdx");
      await withTpm((tpm) => tpm.nvWrite(HCL_REPORT_NV_INDEX, new Uint8Array(4)));
      assert.equal(await azureHclType(target), undefined);
      assert.equal(await azureHclType({ socket: `${sw.dir}/absent.sock` }), undefined);
    } finally {
      await sw.stop();
    }
  },
});
