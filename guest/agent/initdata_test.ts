import assert from "node:assert/strict";
import { join } from "node:path";
import {
  applyInitData,
  buildInitDataDisk,
  type InitDataBinding,
  initDataBlob,
  readInitDataFromDevices,
  sampleBinding,
} from "./initdata.ts";

const TOML = `version = "0.1.0"
algorithm = "sha256"
[data]
"aa.toml" = "[token_configs]\\n"
"policy.rego" = "package agent_policy\\ndefault CreateContainerRequest := true\\n"
`;

Deno.test("readInitDataFromDevices() finds the kata disk format among devices", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const other = join(dir, "vda");
    const disk = join(dir, "vdb");
    await Deno.writeFile(other, new Uint8Array(1024));
    const image = await buildInitDataDisk(TOML);
    assert.equal(image.length % 512, 0);
    await Deno.writeFile(disk, image);
    assert.equal(await readInitDataFromDevices([join(dir, "missing"), other, disk]), TOML);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("initDataBlob() refuses a length beyond the device", () => {
  const bad = new Uint8Array(64);
  bad.set(new TextEncoder().encode("initdata"));
  new DataView(bad.buffer).setBigUint64(8, 1000n, true);
  assert.throws(() => initDataBlob(bad), { code: "invalid-argument" });
  assert.equal(initDataBlob(new Uint8Array(64)), undefined);
});

Deno.test("applyInitData() checks the binding, then writes files and returns the policy", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await applyInitData(TOML, sampleBinding, join(dir, "initdata"));
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
