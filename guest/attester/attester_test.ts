import assert from "node:assert/strict";
import {
  AttesterError,
  createAttester,
  detectTee,
  resolveAttesterConfig,
  type TeeProbes,
} from "./mod.ts";
import { SEV_GUEST_DIR, TDX_GUEST_DEVICE } from "./detect.ts";

const env = (vars: Record<string, string>) => ({ get: (k: string) => vars[k] });
const probes = (paths: string[], provider?: string): TeeProbes => ({
  exists: (p) => Promise.resolve(paths.includes(p)),
  tsmProvider: () => Promise.resolve(provider),
});
const none = probes([]);

Deno.test("createAttester() builds the sample TEE with report data verbatim", async () => {
  const a = createAttester({ tee: "sample" });
  assert.equal(a.tee, "sample");
  assert.deepEqual(a.additionalTees, []);
  assert.deepEqual(await a.primaryEvidence(new Uint8Array([1, 2, 3])), {
    svn: "1",
    report_data: "AQID",
  });
  assert.equal(await a.additionalEvidence(new Uint8Array([1])), "");
});

Deno.test("createAttester() adds sampledevice when withDevice", async () => {
  const a = createAttester({ tee: "sample", withDevice: true });
  assert.deepEqual(a.additionalTees, ["sampledevice"]);
  assert.deepEqual(JSON.parse(await a.additionalEvidence(new Uint8Array([1]))), {
    sampledevice: { svn: "2", report_data: "AQ==" },
  });
});

Deno.test("resolveAttesterConfig() takes flag, then COCO_TEE, then config", async () => {
  assert.deepEqual(await resolveAttesterConfig({ flag: "sample", env: env({}), probes: none }), {
    tee: "sample",
    withDevice: false,
  });
  assert.equal(
    (await resolveAttesterConfig({ env: env({ COCO_TEE: "sample" }), probes: none })).tee,
    "sample",
  );
  assert.equal(
    (await resolveAttesterConfig({ config: "sample", env: env({}), probes: none })).tee,
    "sample",
  );
  await assert.rejects(
    resolveAttesterConfig({ flag: "tdx", config: "sample", env: env({}), probes: none }),
    (e: unknown) =>
      e instanceof AttesterError && e.code === "unknown-tee" && /`tdx`/.test(e.message),
  );
});

Deno.test("resolveAttesterConfig() enables sampledevice from ENABLE_SAMPLE_DEVICE", async () => {
  const cfg = await resolveAttesterConfig({
    flag: "sample",
    env: env({ ENABLE_SAMPLE_DEVICE: "1" }),
    probes: none,
  });
  assert.deepEqual(cfg, { tee: "sample", withDevice: true });
});

Deno.test("resolveAttesterConfig() never falls back to sample", async () => {
  await assert.rejects(
    resolveAttesterConfig({ env: env({}), probes: probes([SEV_GUEST_DIR]) }),
    (e: unknown) =>
      e instanceof AttesterError && e.code === "unsupported-tee" &&
      /`snp` detected/.test(e.message),
  );
  await assert.rejects(
    resolveAttesterConfig({ env: env({}), probes: none }),
    (e: unknown) =>
      e instanceof AttesterError && e.code === "no-tee" && /--tee sample/.test(e.message),
  );
});

Deno.test("detectTee() follows upstream order", async () => {
  const cases: Array<[TeeProbes, string | undefined]> = [
    [probes([], "tdx_guest"), "tdx"],
    [probes([TDX_GUEST_DEVICE, SEV_GUEST_DIR]), "tdx"],
    [probes([SEV_GUEST_DIR], "sev_guest"), "snp"],
    [probes([], "arm_cca_guest"), "cca"],
    [none, undefined],
  ];
  for (const [p, want] of cases) assert.equal(await detectTee(p), want);
});
