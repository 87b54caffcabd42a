import assert from "node:assert/strict";
import { akTemplate, startSwtpm, TPM_RH, TPMA_NV, TpmClient, TpmError, TpmWriter } from "./mod.ts";
import type { TpmTransport } from "./transport.ts";
import { findPeers, skipUnless } from "../../../tests/peers.ts";

const peers = findPeers("swtpm");

function isRc(base: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof TpmError, String(err));
    assert.equal(err.code, "tpm-response");
    assert.match(err.message, base);
    return true;
  };
}

/** Records the commands sent and answers each with an empty success response. */
class RecordingTransport implements TpmTransport {
  sent: Uint8Array[] = [];
  transmit(command: Uint8Array): Promise<Uint8Array> {
    this.sent.push(command);
    return Promise.resolve(new TpmWriter().u16(0x8002).u32(14).u32(0).u32(0).bytes());
  }
  close() {}
}

Deno.test("TpmClient.nvWrite() splits data into chunks at increasing offsets", async () => {
  const t = new RecordingTransport();
  const tpm = new TpmClient(t);
  await tpm.nvWrite(0x01400002, new Uint8Array(1100).fill(7), TPM_RH.OWNER, 512);
  assert.equal(t.sent.length, 3);
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  // header 10 | 2 handles 8 | auth size 4 + session 9 | TPM2B size | data | offset
  const sizes = t.sent.map((c) => view(c).getUint16(31));
  assert.deepEqual(sizes, [512, 512, 76]);
  const offsets = t.sent.map((c) => view(c).getUint16(33 + view(c).getUint16(31)));
  assert.deepEqual(offsets, [0, 512, 1024]);
  assert.deepEqual(t.sent.map((c) => view(c).getUint32(6)), [0x137, 0x137, 0x137]);
});

Deno.test("TpmClient.nvDefineSpace() marshals TPM2B_NV_PUBLIC with owner read/write", async () => {
  const t = new RecordingTransport();
  await new TpmClient(t).nvDefineSpace(0x01400002, 64);
  const cmd = t.sent[0]!;
  // params after header(10) + owner handle(4) + auth area(4 + 9): auth TPM2B (0) then NV public
  assert.equal(
    cmd.subarray(27).toHex(),
    "0000" + "000e" + "01400002" + "000b" + "00020002" + "0000" + "0040",
  );
});

Deno.test({
  name: "TpmClient NV define/write/read/undefine and EvictControl work against swtpm",
  ...skipUnless(peers, "TpmClient NV swtpm"),
  async fn() {
    const sw = await startSwtpm(peers.paths["swtpm"]);
    const tpm = await TpmClient.open({ socket: sw.socket });
    try {
      await tpm.startup();
      const index = 0x01400001;
      await tpm.nvDefineSpace(index, 1800);
      assert.deepEqual(await tpm.nvReadPublic(index), {
        size: 1800,
        attributes: TPMA_NV.OWNERREAD | TPMA_NV.OWNERWRITE,
      });
      await assert.rejects(tpm.nvDefineSpace(index, 10), isRc(/TPM_RC_NV_DEFINED/));
      const data = crypto.getRandomValues(new Uint8Array(1800));
      await tpm.nvWrite(index, data);
      assert.ok(((await tpm.nvReadPublic(index)).attributes & TPMA_NV.WRITTEN) !== 0);
      assert.deepEqual(await tpm.nvRead(index, TPM_RH.OWNER), data);
      // Owner read only: authorising with the index itself is refused.
      await assert.rejects(tpm.nvRead(index), isRc(/TPM_RC_AUTH_UNAVAILABLE/));
      await tpm.nvUndefineSpace(index);
      await assert.rejects(tpm.nvReadPublic(index), isRc(/TPM_RC_HANDLE/));

      const ak = await tpm.createPrimary(TPM_RH.ENDORSEMENT, akTemplate("rsa"));
      await tpm.evictControl(ak.handle, 0x81000003);
      await tpm.flushContext(ak.handle);
      const persistent = await tpm.readPublic(0x81000003);
      assert.deepEqual(persistent.name, ak.name);
      await tpm.evictControl(0x81000003, 0x81000003);
      await assert.rejects(tpm.readPublic(0x81000003), isRc(/TPM_RC_HANDLE/));
    } finally {
      tpm.close();
      await sw.stop();
    }
  },
});
