import assert from "node:assert/strict";
import {
  akTemplate,
  describeRc,
  ekRsaTemplate,
  extendPcr,
  importVerifyKey,
  marshalTpmPublic,
  parseQuoteAttest,
  parseTpm2bPublic,
  parseTpmSignature,
  pcrDigest,
  rcBase,
  readPcrSelection,
  startSwtpm,
  TPM_ALG,
  TPM_RH,
  TpmClient,
  TpmError,
  tpmPublicToSpki,
  TpmReader,
  TpmWriter,
  verifyTpmSignature,
  writePcrSelection,
} from "./mod.ts";
import { findPeers, skipUnless } from "../../../tests/peers.ts";

const VECTOR = new URL(
  "../../../../shared/testdata/trustee/deps/verifier/test_data/tpm_evidence.json",
  import.meta.url,
);
const haveVector = await Deno.stat(VECTOR).then(() => true, () => false);
if (!haveVector) console.log(`SKIPPED tpm vector parse tests: ${VECTOR.pathname} is missing`);

function isTpmError(code: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TpmError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  };
}

Deno.test({
  name: "parseQuoteAttest() and parseTpmSignature() read the upstream tpm_evidence.json quote",
  ignore: !haveVector,
  async fn() {
    const ev = JSON.parse(await Deno.readTextFile(VECTOR));
    const message = Uint8Array.fromBase64(ev.tpm_quote.message);
    const info = parseQuoteAttest(message);
    assert.equal(info.extraData.length, 64);
    assert.equal(info.extraData.subarray(0, 4).toHex(), "a04182b5");
    assert.deepEqual(info.pcrSelect, [{ hash: TPM_ALG.SHA256, pcrs: [...Array(24).keys()] }]);
    const pcrs = (ev.tpm_quote.pcrs as string[]).map((p) => Uint8Array.fromHex(p));
    assert.deepEqual(await pcrDigest(TPM_ALG.SHA256, pcrs), info.pcrDigest);
    const sig = parseTpmSignature(Uint8Array.fromBase64(ev.tpm_quote.signature));
    assert.equal(sig.alg, "rsassa");
    assert.equal(sig.hash, TPM_ALG.SHA256);
    const key = await importVerifyKey(Uint8Array.fromBase64(ev.ak_public), sig);
    assert.equal(await verifyTpmSignature(key, sig, message), true);
    assert.throws(
      () => parseQuoteAttest(message.subarray(0, 30)),
      isTpmError("malformed", /needs/),
    );
    const trailing = new Uint8Array(message.length + 1);
    trailing.set(message);
    assert.throws(
      () => parseQuoteAttest(trailing),
      isTpmError("malformed", /1 unexpected trailing/),
    );
  },
});

Deno.test("parseQuoteAttest() rejects a non-quote TPMS_ATTEST type", () => {
  const w = new TpmWriter().u32(0xff544347).u16(0x8017);
  assert.throws(() => parseQuoteAttest(w.bytes()), isTpmError("malformed", /type is 0x8017/));
});

Deno.test("PCR selections round-trip with 3-byte bitmaps", () => {
  const w = new TpmWriter();
  writePcrSelection(w, [{ hash: TPM_ALG.SHA256, pcrs: [0, 1, 7, 23] }]);
  assert.equal(w.bytes().toHex(), "00000001000b03830080");
  const sel = readPcrSelection(new TpmReader(w.bytes(), "sel"));
  assert.deepEqual(sel, [{ hash: TPM_ALG.SHA256, pcrs: [0, 1, 7, 23] }]);
  assert.throws(() => writePcrSelection(new TpmWriter(), [{ hash: 11, pcrs: [-1] }]), TpmError);
});

Deno.test("extendPcr() is H(old ‖ digest) and checks sizes", async () => {
  const d = new Uint8Array(32).fill(1);
  const buf = new Uint8Array(64);
  buf.set(d, 32);
  assert.deepEqual(
    await extendPcr(TPM_ALG.SHA256, new Uint8Array(32), d),
    new Uint8Array(await crypto.subtle.digest("SHA-256", buf)),
  );
  await assert.rejects(extendPcr(TPM_ALG.SHA256, new Uint8Array(32), new Uint8Array(20)), TpmError);
});

Deno.test("describeRc() names format-1, version-1 and warning codes with their position", () => {
  assert.equal(describeRc(0x18b), "TPM_RC_HANDLE (handle 1) [0x18b]");
  assert.equal(describeRc(0x1d5), "TPM_RC_SIZE (parameter 1) [0x1d5]");
  assert.equal(describeRc(0x9a2), "TPM_RC_BAD_AUTH (session 1) [0x9a2]");
  assert.equal(describeRc(0x100), "TPM_RC_INITIALIZE [0x100]");
  assert.equal(describeRc(0x922), "TPM_RC_RETRY (warning) [0x922]");
  assert.equal(describeRc(0x902), "TPM_RC_OBJECT_MEMORY (warning) [0x902]");
  assert.equal(rcBase(0x1d5), 0x95);
});

Deno.test("templates marshal and parse back; unsupported signature algorithms are named", () => {
  for (const t of [akTemplate("rsa"), akTemplate("ecc"), ekRsaTemplate()]) {
    const bytes = marshalTpmPublic(t);
    const b2 = new TpmWriter().sized(bytes).bytes();
    assert.deepEqual(marshalTpmPublic(parseTpm2bPublic(b2)), bytes);
  }
  assert.throws(
    () => parseTpmSignature(new Uint8Array([0, 0x05, 0, 0x0b])),
    isTpmError("unsupported", /HMAC \(0x0005\)/),
  );
  assert.throws(
    () => parseTpm2bPublic(new TpmWriter().sized(new Uint8Array([0, 8, 0, 11])).bytes()),
    isTpmError("malformed", /objectAttributes/),
  );
});

const peers = findPeers("swtpm");

Deno.test({
  name: "TpmClient drives swtpm: random, PCR extend/read, RSA and ECC quotes, errors decoded",
  ...skipUnless(peers, "TpmClient swtpm"),
  async fn() {
    const sw = await startSwtpm(peers.paths["swtpm"]);
    const tpm = await TpmClient.open({ socket: sw.socket });
    try {
      await tpm.startup();
      await tpm.startup(); // TPM_RC_INITIALIZE is tolerated
      assert.equal((await tpm.getRandom(16)).length, 16);
      const d = new Uint8Array(32).fill(3);
      await tpm.pcrExtend(16, TPM_ALG.SHA256, d);
      const pcr16 = (await tpm.pcrRead(TPM_ALG.SHA256, [16])).get(16)!;
      assert.deepEqual(pcr16, await extendPcr(TPM_ALG.SHA256, new Uint8Array(32), d));
      assert.equal((await tpm.readAllPcrs()).length, 24);
      for (const kind of ["rsa", "ecc"] as const) {
        const ak = await tpm.createPrimary(TPM_RH.ENDORSEMENT, akTemplate(kind));
        const again = await tpm.readPublic(ak.handle);
        assert.deepEqual(again.name, ak.name);
        const nonce = crypto.getRandomValues(new Uint8Array(32));
        const q = await tpm.quote(
          ak.handle,
          nonce,
          { alg: kind === "rsa" ? TPM_ALG.RSASSA : TPM_ALG.ECDSA, hash: TPM_ALG.SHA256 },
          [{ hash: TPM_ALG.SHA256, pcrs: [16] }],
        );
        const info = parseQuoteAttest(q.attest);
        assert.deepEqual(info.extraData, nonce);
        assert.deepEqual(info.pcrDigest, await pcrDigest(TPM_ALG.SHA256, [pcr16]));
        const key = await importVerifyKey(await tpmPublicToSpki(ak.public), q.signature);
        assert.equal(await verifyTpmSignature(key, q.signature, q.attest), true, kind);
        assert.deepEqual(parseTpmSignature(q.signatureBytes), q.signature);
        await tpm.flushContext(ak.handle);
      }
      await assert.rejects(
        tpm.nvRead(0x01400001),
        isTpmError("tpm-response", /TPM2_NV_ReadPublic failed: TPM_RC_HANDLE \(handle 1\)/),
      );
      await assert.rejects(
        tpm.pcrExtend(1, TPM_ALG.SHA256, new Uint8Array(20)),
        isTpmError("malformed", /digest is 20 bytes, the bank needs 32/),
      );
    } finally {
      tpm.close();
      await sw.stop();
    }
  },
});
