import assert from "node:assert/strict";
import {
  decodeInitDataDisk,
  digestForField,
  encodeInitDataDisk,
  initDataAnnotation,
  InitDataDiskError,
  parseInitDataAnnotation,
} from "./disk.ts";

const TOML = `version = "0.1.0"
algorithm = "sha256"
[data]
"policy.rego" = '''
package agent_policy
default CreateContainerRequest := true
'''
`;

Deno.test("init-data disk: layout is magic, LE length, gzip, padding to 512", async () => {
  const disk = await encodeInitDataDisk(TOML);
  assert.equal(disk.length % 512, 0);
  assert.equal(new TextDecoder().decode(disk.subarray(0, 8)), "initdata");
  const len = Number(new DataView(disk.buffer).getBigUint64(8, true));
  assert.deepEqual([...disk.subarray(16, 18)], [0x1f, 0x8b]); // gzip magic
  assert.ok(disk.subarray(16 + len).every((b) => b === 0));
  assert.equal(await decodeInitDataDisk(disk), TOML);
});

Deno.test("init-data annotation round trip is byte-exact", async () => {
  assert.equal(await parseInitDataAnnotation(await initDataAnnotation(TOML)), TOML);
});

Deno.test("init-data disk: hostile images are rejected with a reason", async () => {
  const good = await encodeInitDataDisk(TOML);
  const bad = (mutate: (d: Uint8Array) => Uint8Array) => decodeInitDataDisk(mutate(good.slice()));
  const is = (re: RegExp) => (e: unknown) => e instanceof InitDataDiskError && re.test(e.message);
  await assert.rejects(bad((d) => (d[0] = 0x41, d)), is(/magic/));
  await assert.rejects(
    bad((d) => (new DataView(d.buffer).setBigUint64(8, 1n << 40n, true), d)),
    is(/out of range/),
  );
  await assert.rejects(
    bad((d) => (new DataView(d.buffer).setBigUint64(8, 4096n, true), d)),
    is(/exceeds the device/),
  );
  const gzLen = Number(new DataView(good.buffer).getBigUint64(8, true));
  // The gzip trailer's CRC-32 no longer matches the data.
  await assert.rejects(bad((d) => (d[16 + gzLen - 6] = d[16 + gzLen - 6]! ^ 0xff, d)), is(/gzip/));
  await assert.rejects(bad((d) => d.subarray(0, 12)), is(/truncated/));
  await assert.rejects(parseInitDataAnnotation("%%%"), is(/base64/));
});

Deno.test("init-data digest fields are padded or truncated per TEE", () => {
  const d = new Uint8Array(48).fill(7);
  assert.deepEqual(digestForField(d, 32), new Uint8Array(32).fill(7));
  const p = digestForField(new Uint8Array(32).fill(1), 48);
  assert.deepEqual([...p.subarray(30, 34)], [1, 1, 0, 0]);
});
