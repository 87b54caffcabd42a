import assert from "node:assert/strict";
import { join } from "node:path";
import { encodeInitDataDisk, initDataDigest } from "@coco/lib/initdata";
import { nullLogger } from "@coco/lib/log";
import { parseSnpReport, SNP_REPORT_SIZE, snpEvidenceToJson } from "@coco/lib/tee/snp";
import {
  applyInitData,
  evidenceBinding,
  type InitDataBinding,
  initDataField,
  readInitDataFromDevices,
} from "./initdata.ts";

const TOML = `version = "0.1.0"
algorithm = "sha256"
[data]
"aa.toml" = "[token_configs]\\n"
"policy.rego" = "package agent_policy\\ndefault CreateContainerRequest := true\\n"
`;

const accept: InitDataBinding = { check: () => Promise.resolve() };

Deno.test("readInitDataFromDevices() finds the kata disk format among devices", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const other = join(dir, "vda");
    const disk = join(dir, "vdb");
    await Deno.writeFile(other, new Uint8Array(1024));
    await Deno.writeFile(disk, await encodeInitDataDisk(TOML));
    assert.equal(await readInitDataFromDevices([join(dir, "missing"), other, disk]), TOML);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readInitDataFromDevices() refuses a disk whose length does not fit or is absurd", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const len of [1000n, 1n << 40n]) {
      const bad = new Uint8Array(64);
      bad.set(new TextEncoder().encode("initdata"));
      new DataView(bad.buffer).setBigUint64(8, len, true);
      await Deno.writeFile(join(dir, "vda"), bad);
      await assert.rejects(readInitDataFromDevices([join(dir, "vda")]), {
        code: "invalid-argument",
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("applyInitData() checks the binding, then writes files and returns the policy", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await applyInitData(TOML, accept, join(dir, "initdata"));
    assert.match(out.policy ?? "", /package agent_policy/);
    assert.equal(await Deno.readTextFile(out.aaToml!), "[token_configs]\n");
    const digests: number[] = [];
    const refusing: InitDataBinding = {
      check: (d) => {
        digests.push(d.length);
        return Promise.reject(new Error("host-data does not match"));
      },
    };
    await assert.rejects(applyInitData(TOML, refusing, join(dir, "x")), /host-data/);
    assert.deepEqual(digests, [32]);
    assert.equal(await Deno.stat(join(dir, "x")).then(() => true, () => false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evidenceBinding() lets the sample TEE through (no register) and asks for evidence", async () => {
  let asked = 0;
  const binding = evidenceBinding({
    tee: "sample",
    getEvidence: (rd) => {
      asked++;
      return Promise.resolve(
        new TextEncoder().encode(JSON.stringify({ svn: "1", report_data: rd.toBase64() })),
      );
    },
  }, nullLogger);
  await binding.check(initDataDigest(TOML, "sha256"), {
    version: "0.1.0",
    algorithm: "sha256",
    data: {},
  });
  assert.equal(asked, 1);
  assert.equal(initDataField("sample", {}), undefined);
});

/** SNP evidence JSON whose report carries `hostData` (the rest zero, version 2). */
function snpEvidence(hostData: Uint8Array): Uint8Array {
  const raw = new Uint8Array(SNP_REPORT_SIZE);
  new DataView(raw.buffer).setUint32(0, 2, true);
  const report = parseSnpReport(raw);
  report.host_data.set(hostData);
  return new TextEncoder().encode(JSON.stringify(snpEvidenceToJson({ report, certChain: null })));
}

Deno.test("evidenceBinding() compares SNP host_data with the padded digest", async () => {
  const digest = initDataDigest(TOML, "sha256");
  const init = { version: "0.1.0", algorithm: "sha256" as const, data: {} };
  const good = evidenceBinding(
    { tee: "snp", getEvidence: () => Promise.resolve(snpEvidence(digest)) },
    nullLogger,
  );
  await good.check(digest, init);
  const wrong = evidenceBinding(
    { tee: "snp", getEvidence: () => Promise.resolve(snpEvidence(new Uint8Array(32).fill(7))) },
    nullLogger,
  );
  await assert.rejects(wrong.check(digest, init), {
    code: "permission-denied",
    message: /init-data digest does not match the snp init-data register/,
  });
});
