import assert from "node:assert/strict";
import { AttesterError } from "./errors.ts";
import {
  importVerifyKey,
  parseQuoteAttest,
  parseTpmSignature,
  pcrDigest,
  startSwtpm,
  type Swtpm,
  TPM_ALG,
  TpmError,
  verifyTpmSignature,
} from "@coco/lib/tee/tpm";
import { findPeers, skipUnless } from "../../tests/peers.ts";
import { createAttester, TpmAttester } from "./mod.ts";
import { InitDataBindingError } from "./types.ts";

const peers = findPeers("swtpm");

async function withSwtpm(fn: (sw: Swtpm) => Promise<void>) {
  const sw = await startSwtpm(peers.paths["swtpm"]);
  try {
    await fn(sw);
  } finally {
    await sw.stop();
  }
}

type Evidence = {
  ak_public: string;
  tpm_quote: { signature: string; message: string; pcrs: string[] };
  event_log?: string;
};

Deno.test({
  name: "TpmAttester quotes swtpm PCRs 0-23 with the report data and a verifiable AK signature",
  ...skipUnless(peers, "TpmAttester swtpm quote"),
  fn: () =>
    withSwtpm(async (sw) => {
      const attester = createAttester({
        tee: "tpm",
        target: { socket: sw.socket },
        eventLogPath: null,
      });
      assert.equal(attester.tee, "tpm");
      const rd = crypto.getRandomValues(new Uint8Array(48));
      const ev = await attester.primaryEvidence(rd) as unknown as Evidence;
      assert.deepEqual(Object.keys(ev).sort(), ["ak_public", "tpm_quote"]);
      const message = Uint8Array.fromBase64(ev.tpm_quote.message);
      const info = parseQuoteAttest(message);
      assert.equal(info.extraData.length, 64);
      assert.deepEqual(info.extraData.subarray(0, 48), rd);
      assert.deepEqual(info.extraData.subarray(48), new Uint8Array(16));
      const pcrs = ev.tpm_quote.pcrs.map((p) => Uint8Array.fromHex(p));
      assert.equal(pcrs.length, 24);
      assert.deepEqual(await pcrDigest(TPM_ALG.SHA256, pcrs), info.pcrDigest);
      const sig = parseTpmSignature(Uint8Array.fromBase64(ev.tpm_quote.signature));
      assert.equal(sig.alg, "rsassa");
      const key = await importVerifyKey(Uint8Array.fromBase64(ev.ak_public), sig);
      assert.equal(await verifyTpmSignature(key, sig, message), true);
      message[message.length - 1]! ^= 1;
      assert.equal(await verifyTpmSignature(key, sig, message), false);
      // The primary AK is deterministic: the key a trustee registers stays valid.
      const tpm = attester as TpmAttester;
      assert.equal((await tpm.akPublic()).toBase64(), ev.ak_public);
    }),
});

Deno.test({
  name: "TpmAttester.bindInitData() extends PCR 8 once from zero with the digest",
  ...skipUnless(peers, "TpmAttester init-data"),
  fn: () =>
    withSwtpm(async (sw) => {
      const attester = new TpmAttester({ target: { socket: sw.socket }, eventLogPath: null });
      assert.deepEqual(await attester.readPcr(8), new Uint8Array(32));
      const digest = crypto.getRandomValues(new Uint8Array(32));
      assert.deepEqual(await attester.bindInitData(digest), { status: "extended", field: "PCR8" });
      const buf = new Uint8Array(64);
      buf.set(digest, 32);
      const want = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
      assert.deepEqual(await attester.readPcr(8), want);
      const ev = await attester.primaryEvidence(new Uint8Array(32)) as unknown as Evidence;
      assert.equal(ev.tpm_quote.pcrs[8], want.toHex());
      // An AA restart with the same init-data matches instead of extending twice.
      assert.deepEqual(await attester.bindInitData(digest), { status: "matched", field: "PCR8" });
      assert.deepEqual(await attester.readPcr(8), want);
      // Another digest cannot be bound any more.
      await assert.rejects(
        attester.bindInitData(new Uint8Array(32).fill(7)),
        (e: unknown) =>
          e instanceof InitDataBindingError && e.code === "init-data-mismatch" &&
          /PCR 8 is/.test(e.message),
      );
    }),
});

Deno.test({
  name: "TpmAttester includes the event log file when it exists",
  ...skipUnless(peers, "TpmAttester event log"),
  fn: () =>
    withSwtpm(async (sw) => {
      const log = `${sw.dir}/measurements`;
      await Deno.writeFile(log, new Uint8Array([1, 2, 3]));
      const attester = new TpmAttester({ target: { socket: sw.socket }, eventLogPath: log });
      const ev = await attester.primaryEvidence(new Uint8Array(32)) as unknown as Evidence;
      assert.equal(ev.event_log, "AQID");
      const none = new TpmAttester({
        target: { socket: sw.socket },
        eventLogPath: `${sw.dir}/absent`,
      });
      assert.equal(
        (await none.primaryEvidence(new Uint8Array(32)) as unknown as Evidence).event_log,
        undefined,
      );
    }),
});

Deno.test({
  name: "TpmAttester names the missing persistent AK handle",
  ...skipUnless(peers, "TpmAttester AK handle"),
  fn: () =>
    withSwtpm(async (sw) => {
      const attester = new TpmAttester({ target: { socket: sw.socket }, akHandle: 0x81010002 });
      await assert.rejects(attester.primaryEvidence(new Uint8Array(32)), (err: unknown) => {
        assert.ok(err instanceof TpmError);
        assert.equal(err.code, "tpm-response");
        assert.match(err.message, /TPM2_ReadPublic failed: TPM_RC_HANDLE \(handle 1\)/);
        return true;
      });
    }),
});

Deno.test("TpmAttester fails with a transport error naming an absent socket", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const attester = new TpmAttester({ target: { socket: `${dir}/none.sock` } });
    await assert.rejects(attester.primaryEvidence(new Uint8Array(32)), (err: unknown) => {
      assert.ok(err instanceof TpmError);
      assert.equal(err.code, "transport");
      assert.match(err.message, /Cannot open the TPM at unix:.*none\.sock/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runtime measurements into a DRTM PCR (17–22) fail naming the setting, before any TPM call", async () => {
  // The socket does not exist: the refusal must come first.
  const attester = new TpmAttester({
    target: { socket: "/nonexistent/tpm.sock" },
    eventLogPath: null,
  });
  for (const pcr of [17, 22]) {
    await assert.rejects(attester.registers.extend(pcr, new Uint8Array(32)), (e: unknown) => {
      assert.ok(e instanceof AttesterError);
      assert.equal(e.code, "bad-tpm-config");
      assert.match(e.message, /locality 4.*init_pcr/);
      return true;
    });
  }
});
