import assert from "node:assert/strict";
import { concat } from "../../bytes.ts";
import { encodeTdxQuote, parseTdxQuote, TdxQuoteError } from "./mod.ts";

const D = new URL("../../../../shared/testdata/trustee/deps/verifier/test_data/", import.meta.url);
const haveShared = await Deno.stat(D).then(() => true, () => false);
const t = (name: string, fn: () => Promise<void>) => Deno.test({ name, ignore: !haveShared, fn });
const q6 = () => Deno.readFile(new URL("tdx_quote_6.dat", D));

function rejects(bytes: Uint8Array, code: string, msg: RegExp) {
  assert.throws(() => parseTdxQuote(bytes), (err: unknown) => {
    assert.ok(err instanceof TdxQuoteError);
    assert.equal(err.code, code);
    assert.match(err.message, msg);
    return true;
  });
}

t("parseTdxQuote() reads tdx_quote_6 as v4 TD 1.0 and ignores trailing padding", async () => {
  const q = parseTdxQuote(await q6());
  assert.equal(q.header.version, 4);
  assert.equal(q.body.kind, "td10");
  assert.equal(q.signedRegion.length, 632);
  assert.equal(q.body.teeTcbSvn.toHex(), "05030200000000000000000000000000");
  assert.equal(q.signature.qeReport.isvSvn, 7);
  assert.equal(q.signature.qeAuthData.length, 32);
  assert.equal(q.signature.pckChainPem.match(/BEGIN CERTIFICATE/g)?.length, 3);
});

t("parseTdxQuote() reads a v5 TD 1.5 quote built from the same fields", async () => {
  const q = parseTdxQuote(await q6());
  const header = q.signedRegion.slice(0, 48);
  header[0] = 5;
  const region = concat(
    header,
    new Uint8Array([3, 0, 0x88, 2, 0, 0]),
    q.body.raw,
    new Uint8Array(64).fill(7),
  );
  const v5 = parseTdxQuote(
    encodeTdxQuote(region, { ...q.signature, qeReport: q.signature.qeReport.raw }),
  );
  assert.equal(v5.body.kind, "td15");
  assert.equal(v5.bodyDescriptor?.type, 3);
  assert.equal(v5.signedRegion.length, 702);
  assert.equal(v5.body.teeTcbSvn2?.toHex(), "07".repeat(16));
  assert.equal(v5.body.mrServiceTd?.length, 48);
  assert.equal(v5.signature.pckChainPem, q.signature.pckChainPem);
});

t("parseTdxQuote() rejects truncated, bad-length and unsupported quotes", async () => {
  const q = await q6();
  rejects(q.subarray(0, 40), "truncated", /truncated at header/);
  rejects(q.subarray(0, 300), "truncated", /truncated at report body/);
  rejects(q.subarray(0, 1000), "truncated", /truncated at signature data/);
  const v3 = q.slice();
  v3[0] = 3;
  rejects(v3, "unsupported", /version 3, expected TDX quote \(v4\/v5\)/);
  const key = q.slice();
  key[2] = 3;
  rejects(key, "unsupported", /attestation key type 3/);
  const tee = q.slice();
  tee[4] = 0;
  rejects(tee, "unsupported", /tee_type 0x0/);
  const v5 = concat(q.subarray(0, 48), new Uint8Array([3, 0, 0x48, 2, 0, 0]), q.subarray(48));
  v5[0] = 5;
  rejects(v5, "malformed", /body type 3 declares size 584, expected 648/);
  const cert = q.slice();
  cert[632 + 4 + 128] = 5;
  rejects(cert, "unsupported", /certification data type 5, expected 6/);
});
