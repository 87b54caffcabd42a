import assert from "node:assert/strict";
import type { JsonValue } from "@coco/lib/json";
import { marshalTpmSignature, parseTpmSignature, spkiToPem } from "@coco/lib/tee/tpm";
import { VerifierError } from "../types.ts";
import { createVerifier } from "../mod.ts";
import { TpmVerifier } from "./mod.ts";
import { softAk, softTpmEvidence, tcgLog } from "./_testing.ts";

const VECTOR = new URL(
  "../../../../shared/testdata/trustee/deps/verifier/test_data/tpm_evidence.json",
  import.meta.url,
);
const haveVector = await Deno.stat(VECTOR).then(() => true, () => false);
if (!haveVector) console.log(`SKIPPED tpm vector tests: ${VECTOR.pathname} is missing`);

type Ev = { ak_public: string; tpm_quote: { signature: string; message: string; pcrs: string[] } };
const load = (): Ev => JSON.parse(Deno.readTextFileSync(VECTOR));
const trustedFor = (ev: Ev) => [spkiToPem(Uint8Array.fromBase64(ev.ak_public))];

async function rejects(p: Promise<unknown>, code: string, message: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VerifierError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

function flip(b64: string, offset: number): string {
  const b = Uint8Array.fromBase64(b64);
  b[offset]! ^= 0x01;
  return b.toBase64();
}

const vt = { ignore: !haveVector };

Deno.test({
  ...vt,
  name: "TpmVerifier verifies tpm_evidence.json with its AK trusted and reports upstream claims",
  async fn() {
    const ev = load();
    const v = createVerifier("tpm", { trustedAkKeys: trustedFor(ev) });
    const [out] = await v.evaluate({ evidence: ev as unknown as JsonValue });
    assert.equal(out!.teeClass, "cpu");
    const c = out!.claims;
    assert.equal(c.ak_public, ev.ak_public);
    assert.equal(typeof c.report_data, "string");
    assert.equal((c.report_data as string).length, 128);
    assert.match(c.report_data as string, /^a04182b5[0-9a-f]{88}0{32}$/);
    assert.equal(c.init_data, "0".repeat(64));
    for (let i = 0; i < 24; i++) {
      assert.equal(c[`pcr${String(i).padStart(2, "0")}`], ev.tpm_quote.pcrs[i]);
    }
  },
});

Deno.test({
  ...vt,
  name: "TpmVerifier binds report data: the 48-byte prefix matches, other data does not",
  async fn() {
    const ev = load();
    const v = new TpmVerifier({ trustedAkKeys: trustedFor(ev) });
    const extra = Uint8Array.fromHex(
      (await v.evaluate({ evidence: ev as unknown as JsonValue }))[0]!.claims
        .report_data as string,
    );
    await v.evaluate({ evidence: ev as unknown as JsonValue, reportData: extra.slice(0, 48) });
    const wrong = extra.slice(0, 48);
    wrong[47]! ^= 1;
    await rejects(
      v.evaluate({ evidence: ev as unknown as JsonValue, reportData: wrong }),
      "report-data-mismatch",
      /extraData \(nonce\) does not match the expected report data/,
    );
  },
});

Deno.test({
  ...vt,
  name: "TpmVerifier rejects tampered copies of tpm_evidence.json with precise errors",
  async fn() {
    const v = new TpmVerifier({ trustedAkKeys: trustedFor(load()) });
    const cases: [string, (e: Ev) => void, string, RegExp][] = [
      [
        "message byte (clock)",
        (e) => {
          e.tpm_quote.message = flip(e.tpm_quote.message, 80);
        },
        "bad-signature",
        /not signed by the attestation key/,
      ],
      [
        "signature byte",
        (e) => {
          e.tpm_quote.signature = flip(e.tpm_quote.signature, 100);
        },
        "bad-signature",
        /not signed by the attestation key/,
      ],
      [
        "PCR value",
        (e) => {
          e.tpm_quote.pcrs[3] = "11".repeat(32);
        },
        "bad-signature",
        /do not match the quote's signed PCR digest/,
      ],
      [
        "magic",
        (e) => {
          e.tpm_quote.message = flip(e.tpm_quote.message, 0);
        },
        "bad-evidence",
        /magic is 0xfe544347/,
      ],
      [
        "AK not trusted",
        (e) => {
          e.ak_public = flip(e.ak_public, 60);
        },
        "bad-certificate-chain",
        /ak_public is not one of the 1 trusted AK keys/,
      ],
      [
        "23 PCRs",
        (e) => {
          e.tpm_quote.pcrs.pop();
        },
        "bad-evidence",
        /expected 24 SHA-256 PCR values/,
      ],
      [
        "PCR not hex",
        (e) => {
          e.tpm_quote.pcrs[0] = "zz";
        },
        "bad-evidence",
        /tpm_quote\.pcrs\[0\] is not hex/,
      ],
      [
        "message not base64",
        (e) => {
          e.tpm_quote.message = "%%%";
        },
        "bad-evidence",
        /tpm_quote\.message is not base64/,
      ],
      [
        "missing ak_public",
        (e) => {
          delete (e as Partial<Ev>).ak_public;
        },
        "bad-evidence",
        /ak_public must be a string/,
      ],
      [
        "HMAC signature",
        (e) => {
          const s = Uint8Array.fromBase64(e.tpm_quote.signature);
          s[1] = 0x05;
          e.tpm_quote.signature = s.toBase64();
        },
        "bad-evidence",
        /algorithm HMAC \(0x0005\)/,
      ],
      [
        "truncated message",
        (e) => {
          e.tpm_quote.message = Uint8Array.fromBase64(e.tpm_quote.message).slice(0, 40).toBase64();
        },
        "bad-evidence",
        /Cannot parse TPMS_ATTEST/,
      ],
    ];
    for (const [name, mutate, code, message] of cases) {
      const e = load();
      mutate(e);
      await rejects(v.evaluate({ evidence: e as unknown as JsonValue }), code, message).catch(
        (err) => {
          throw new Error(`case ${name}: ${err.message}`);
        },
      );
    }
  },
});

Deno.test({
  ...vt,
  name: "TpmVerifier rejects every AK when no trusted keys are configured",
  async fn() {
    await rejects(
      new TpmVerifier().evaluate({ evidence: load() as unknown as JsonValue }),
      "bad-certificate-chain",
      /not one of the 0 trusted AK keys/,
    );
  },
});

Deno.test({
  ...vt,
  name: "TpmVerifier checks init-data against PCR 8 (zero in the vector)",
  async fn() {
    const ev = load();
    const v = new TpmVerifier({ trustedAkKeys: trustedFor(ev) });
    await rejects(
      v.evaluate({ evidence: ev as unknown as JsonValue, initDataHash: new Uint8Array(32) }),
      "init-data-mismatch",
      /PCR 8 \(0{64}\) is not the init-data digest/,
    );
    await rejects(
      v.evaluate({ evidence: ev as unknown as JsonValue, initDataHash: new Uint8Array(48) }),
      "init-data-mismatch",
      /48 bytes; PCR 8 binding needs a 32-byte/,
    );
  },
});

Deno.test("TpmVerifier rejects an invalid trusted AK PEM at construction", () => {
  assert.throws(() => new TpmVerifier({ trustedAkKeys: ["not a key"] }), /trusted AK key #1/);
});

const zeros = (): Uint8Array[] => Array.from({ length: 24 }, () => new Uint8Array(32));

async function extendFromZero(...datas: Uint8Array[]): Promise<Uint8Array> {
  let v = new Uint8Array(32);
  for (const d of datas) {
    const dg = new Uint8Array(await crypto.subtle.digest("SHA-256", d as BufferSource));
    const buf = new Uint8Array(64);
    buf.set(v);
    buf.set(dg, 32);
    v = new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
  }
  return v;
}

Deno.test("TpmVerifier replays an event log against the quoted PCRs", async () => {
  const ak = await softAk();
  const v = new TpmVerifier({ trustedAkKeys: [spkiToPem(ak.spki)] });
  const enc = new TextEncoder();
  const events = [
    { pcr: 0, type: 0x1, data: enc.encode("POST CODE") },
    { pcr: 0, type: 0x4, data: new Uint8Array(4) },
    { pcr: 4, type: 0x80000007, data: enc.encode("Calling EFI Application") },
  ];
  const log = await tcgLog(events);
  const pcrs = zeros();
  pcrs[0] = await extendFromZero(events[0]!.data, events[1]!.data);
  pcrs[4] = await extendFromZero(events[2]!.data);
  const nonce = new Uint8Array(64);
  nonce.fill(9, 0, 48);
  const good = await softTpmEvidence(ak, nonce, pcrs, { eventLog: log });
  const [out] = await v.evaluate({
    evidence: good as unknown as JsonValue,
    reportData: new Uint8Array(48).fill(9),
  });
  const logs = out!.claims.uefi_event_logs as { index: number; type_name: string }[];
  assert.deepEqual(logs.map((e) => [e.index, e.type_name]), [
    [0, "EV_POST_CODE"],
    [0, "EV_SEPARATOR"],
    [4, "EV_EFI_ACTION"],
  ]);

  const badPcrs = zeros();
  badPcrs[0] = pcrs[0]!;
  const bad = await softTpmEvidence(ak, nonce, badPcrs, { eventLog: log });
  await rejects(
    v.evaluate({ evidence: bad as unknown as JsonValue }),
    "bad-evidence",
    /event_log replay of PCR 4 gives [0-9a-f]{64}, the quote has 0{64}/,
  );
});

Deno.test("TpmVerifier requires the quote to select SHA-256 PCRs 0-23", async () => {
  const ak = await softAk();
  const v = new TpmVerifier({ trustedAkKeys: [spkiToPem(ak.spki)] });
  const pcrs = zeros();
  const ev = await softTpmEvidence(ak, new Uint8Array(64), pcrs, {
    selection: [{ hash: 0x000b, pcrs: [...Array(23).keys(), 23].map((p) => (p === 0 ? 1 : p)) }],
  });
  await rejects(
    v.evaluate({ evidence: ev as unknown as JsonValue }),
    "bad-evidence",
    /must select SHA-256 PCRs 0-23/,
  );
});

Deno.test("TpmVerifier refuses a nonce shorter than 32 bytes when report data is expected", async () => {
  const ak = await softAk();
  const v = new TpmVerifier({ trustedAkKeys: [spkiToPem(ak.spki)] });
  const ev = await softTpmEvidence(ak, new Uint8Array(16), zeros());
  await rejects(
    v.evaluate({ evidence: ev as unknown as JsonValue, reportData: new Uint8Array(48) }),
    "report-data-mismatch",
    /extraData is 16 bytes, at least 32/,
  );
  // Round trip of the signature codec used above.
  const sig = parseTpmSignature(Uint8Array.fromBase64(ev.tpm_quote.signature as string));
  assert.equal(marshalTpmSignature(sig).toBase64(), ev.tpm_quote.signature);
});
