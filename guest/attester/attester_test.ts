import assert from "node:assert/strict";
import {
  AttesterError,
  createAttester,
  detectTee,
  resolveAttesterConfig,
  type TeeProbes,
} from "./mod.ts";
import { SEV_GUEST_DIR, TDX_GUEST_DEVICE } from "./detect.ts";
import { DEFAULT_AAEL_PATH } from "./sample.ts";

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
    aaelPath: DEFAULT_AAEL_PATH,
  });
  assert.equal(
    (await resolveAttesterConfig({ env: env({ COCO_TEE: "sample" }), probes: none })).tee,
    "sample",
  );
  assert.equal(
    (await resolveAttesterConfig({ config: "sample", env: env({}), probes: none })).tee,
    "sample",
  );
  assert.deepEqual(
    await resolveAttesterConfig({ flag: "tdx", config: "sample", env: env({}), probes: none }),
    { tee: "tdx", aaelPath: DEFAULT_AAEL_PATH },
  );
  assert.deepEqual(
    await resolveAttesterConfig({ config: "snp", env: env({}), probes: none }),
    { tee: "snp" },
  );
});

Deno.test("resolveAttesterConfig() rejects unknown TEEs and TEEs not in this build", async () => {
  await assert.rejects(
    resolveAttesterConfig({ flag: "sgx", env: env({}), probes: none }),
    (e: unknown) =>
      e instanceof AttesterError && e.code === "unsupported-tee" && /`sgx`/.test(e.message),
  );
  await assert.rejects(
    resolveAttesterConfig({ flag: "bogus", env: env({}), probes: none }),
    (e: unknown) => e instanceof AttesterError && e.code === "unknown-tee",
  );
});

Deno.test("resolveAttesterConfig() configures the TPM from env, then [aa.tpm], then /dev", async () => {
  const fromEnv = await resolveAttesterConfig({
    flag: "tpm",
    env: env({ AA_TPM_DEVICE: "unix:///run/swtpm.sock", AA_TPM_AK_HANDLE: "0x81010003" }),
    tpm: { device: "/dev/tpmrm9", akHandle: 0x81010002 },
    probes: none,
  });
  assert.deepEqual(fromEnv, {
    tee: "tpm",
    target: { socket: "/run/swtpm.sock" },
    akHandle: 0x81010003,
    aaelPath: DEFAULT_AAEL_PATH,
  });
  const fromConfig = await resolveAttesterConfig({
    config: "tpm",
    env: env({ AAEL_PATH: "/tmp/aael" }),
    tpm: { device: "tcp://127.0.0.1:2321", akHandle: 0x81010002 },
    probes: none,
  });
  assert.deepEqual(fromConfig, {
    tee: "tpm",
    target: { hostname: "127.0.0.1", port: 2321 },
    akHandle: 0x81010002,
    aaelPath: "/tmp/aael",
  });
  const detected = await resolveAttesterConfig({
    env: env({}),
    probes: probes(["/dev/tpm0", "/dev/tpmrm0"]),
  });
  assert.deepEqual(detected.tee === "tpm" && detected.target, { device: "/dev/tpmrm0" });
});

Deno.test("resolveAttesterConfig() names the bad TPM setting", async () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ AA_TPM_DEVICE: "tpm0" }, /TPM device `tpm0`/],
    [{ AA_TPM_DEVICE: "/dev/tpm0", AA_TPM_AK_HANDLE: "0x1234" }, /AK handle `0x1234`/],
    [{ AA_TPM_DEVICE: "/dev/tpm0", AA_TPM_AK_HANDLE: "0x40000001" }, /persistent handle/],
  ];
  for (const [vars, re] of cases) {
    await assert.rejects(
      resolveAttesterConfig({ flag: "tpm", env: env(vars), probes: none }),
      (e: unknown) =>
        e instanceof AttesterError && e.code === "bad-tpm-config" && re.test(e.message),
    );
  }
  await assert.rejects(
    resolveAttesterConfig({ flag: "tpm", env: env({}), probes: none }),
    (e: unknown) =>
      e instanceof AttesterError && e.code === "no-tee" && /AA_TPM_DEVICE/.test(e.message),
  );
});

Deno.test("resolveAttesterConfig() enables sampledevice from ENABLE_SAMPLE_DEVICE", async () => {
  const cfg = await resolveAttesterConfig({
    flag: "sample",
    env: env({ ENABLE_SAMPLE_DEVICE: "1" }),
    probes: none,
  });
  assert.deepEqual(cfg, { tee: "sample", withDevice: true, aaelPath: DEFAULT_AAEL_PATH });
});

Deno.test("resolveAttesterConfig() uses the detected TEE and never falls back to sample", async () => {
  assert.deepEqual(
    await resolveAttesterConfig({ env: env({}), probes: probes([SEV_GUEST_DIR]) }),
    { tee: "snp" },
  );
  assert.deepEqual(
    await resolveAttesterConfig({ env: env({}), probes: probes([], "arm_cca_guest") }),
    { tee: "cca" },
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
    [probes([SEV_GUEST_DIR, "/dev/tpm0"]), "snp"],
    [probes(["/dev/tpm1"]), "tpm"],
    [none, undefined],
  ];
  for (const [p, want] of cases) assert.equal(await detectTee(p), want);
  assert.equal(await detectTee(none, "unix:///sock"), "tpm");
});
