import assert from "node:assert/strict";
import { CcaAttesterError, ccaEvidence } from "./cca.ts";
import { createAttester } from "./mod.ts";
import type { TsmFs } from "./tsm.ts";

/** A configfs-tsm emulation in a temp dir: records the inblob, returns `token` as outblob. */
function fakeTsm(token: Uint8Array, provider = "arm_cca_guest") {
  const seen: { inblob?: Uint8Array } = {};
  const fs: TsmFs = {
    async mkdir(p) {
      await Deno.mkdir(p);
      await Deno.writeTextFile(`${p}/provider`, `${provider}\n`);
      await Deno.writeTextFile(`${p}/generation`, "1\n");
    },
    readFile: (p) => p.endsWith("/outblob") ? Promise.resolve(token) : Deno.readFile(p),
    writeFile(p, d) {
      if (p.endsWith("/inblob")) seen.inblob = d;
      return Deno.writeFile(p, d);
    },
    rmdir: (p) => Deno.remove(p, { recursive: true }),
  };
  return { fs, seen };
}

Deno.test("ccaEvidence() pads the report data to the 64-byte challenge and returns the token as numbers", async () => {
  const root = await Deno.makeTempDir();
  try {
    const token = Uint8Array.of(0xd9, 0x01, 0x8f, 0xa0);
    const { fs, seen } = fakeTsm(token);
    const ev = await ccaEvidence(new Uint8Array(48).fill(9), { tsmRoot: root, fs });
    assert.deepEqual(ev, { token: [0xd9, 0x01, 0x8f, 0xa0] });
    const want = new Uint8Array(64);
    want.fill(9, 0, 48);
    assert.deepEqual(seen.inblob, want);
    assert.deepEqual([...Deno.readDirSync(root)], [], "the configfs entry is removed");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("ccaEvidence() refuses report data over 64 bytes and another TSM provider", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(ccaEvidence(new Uint8Array(65), { tsmRoot: root }), (err) => {
      assert.ok(err instanceof CcaAttesterError);
      assert.equal(err.code, "report-data-too-long");
      assert.match(err.message, /report data is 65 bytes, at most 64/);
      return true;
    });
    const { fs } = fakeTsm(new Uint8Array(1), "tdx_guest");
    await assert.rejects(ccaEvidence(new Uint8Array(1), { tsmRoot: root, fs }), (err) => {
      assert.ok(err instanceof CcaAttesterError);
      assert.equal(err.code, "wrong-provider");
      assert.match(err.message, /provider is "tdx_guest", not arm_cca_guest/);
      return true;
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the cca attester is built from config and reports init-data as unsupported", async () => {
  const { fs } = fakeTsm(new Uint8Array([0xd2, 0x84]));
  const root = await Deno.makeTempDir();
  try {
    const a = createAttester({ tee: "cca", tsmRoot: root, fs });
    assert.equal(a.tee, "cca");
    assert.deepEqual(await a.primaryEvidence(new Uint8Array(4)), { token: [0xd2, 0x84] });
    assert.equal(await a.additionalEvidence(new Uint8Array(4)), "");
    assert.equal((await a.bindInitData(new Uint8Array(32))).status, "unsupported");
    assert.equal(a.registers, undefined);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
