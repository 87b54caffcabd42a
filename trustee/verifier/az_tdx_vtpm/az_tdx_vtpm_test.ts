import assert from "node:assert/strict";
import type { JsonValue } from "@coco/lib/json";
import { VerifierError } from "../types.ts";
import { createVerifier } from "../mod.ts";
import { AzTdxVtpmVerifier } from "./mod.ts";

const DIR = new URL(
  "../../../../shared/testdata/trustee/deps/verifier/test_data/az-tdx-vtpm/",
  import.meta.url,
);
const have = await Deno.stat(DIR).then(() => true, () => false);
if (!have) console.log(`SKIPPED az-tdx-vtpm vector tests: ${DIR.pathname} is missing`);

type Ev = Record<string, unknown>;
const load = (f: string): Ev => JSON.parse(Deno.readTextFileSync(new URL(f, DIR)));
const CHALLENGE = new TextEncoder().encode("challenge");
const PCR00 = /^782b20b1[0-9a-f]{50}d8a273$/;

async function rejects(p: Promise<unknown>, code: string, message: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VerifierError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

const t = { ignore: !have };

// No DCAP collateral for FMSPC 00806F050000 is shipped: these runs check the vTPM quote, the
// HCL binding, the TD quote and QE signatures and the PCK chain, but not the TCB level.
for (const file of ["evidence-v0.json", "evidence-v1.json"]) {
  Deno.test({
    ...t,
    name: `AzTdxVtpmVerifier verifies ${file} without collateral (TPM, binding, quote, PCK chain)`,
    async fn() {
      const [out] = await createVerifier("az-tdx-vtpm").evaluate({
        evidence: load(file) as JsonValue,
        reportData: CHALLENGE,
      });
      const c = out!.claims;
      assert.equal(c.report_data, CHALLENGE.toHex());
      assert.match((c.tpm as Record<string, string>).pcr00!, PCR00);
      assert.equal(c.init_data, (c.tpm as Record<string, string>).pcr08);
      assert.ok(c.quote, "the TDX quote claims are merged");
    },
  });
}

function flipB64url(s: string, offset: number): string {
  const b = Uint8Array.fromBase64(s, { alphabet: "base64url" });
  b[offset]! ^= 0x01;
  return b.toBase64({ alphabet: "base64url" });
}

Deno.test({
  ...t,
  name: "AzTdxVtpmVerifier rejects tampered evidence-v1.json with the failing check named",
  async fn() {
    const v = new AzTdxVtpmVerifier();
    const cases: [string, (e: Ev) => void, string, RegExp][] = [
      [
        "HCL variable data (0x0880)",
        (e) => {
          e.hcl_report = flipB64url(e.hcl_report as string, 0x0880);
        },
        "report-data-mismatch",
        /TDX Quote report data mismatch/,
      ],
      [
        "TD quote body (REPORTDATA)",
        (e) => {
          e.td_quote = flipB64url(e.td_quote as string, 48 + 520);
        },
        "bad-signature",
        /./,
      ],
      [
        "vTPM quote message",
        (e) => {
          const q = e.tpm_quote as { message: string };
          const b = Uint8Array.fromHex(q.message);
          b[70]! ^= 1;
          q.message = b.toHex();
        },
        "bad-signature",
        /not signed by AKpub/,
      ],
    ];
    for (const [name, mutate, code, message] of cases) {
      const e = load("evidence-v1.json");
      mutate(e);
      await rejects(v.evaluate({ evidence: e as JsonValue, reportData: CHALLENGE }), code, message)
        .catch((err) => {
          throw new Error(`case ${name}: ${err.message}`);
        });
    }
  },
});

Deno.test({
  ...t,
  name: "AzTdxVtpmVerifier refuses an SNP HCL report and missing report data",
  async fn() {
    const v = new AzTdxVtpmVerifier();
    await rejects(
      v.evaluate({ evidence: load("evidence-v1.json") as JsonValue }),
      "report-data-mismatch",
      /report data is required/,
    );
    const snp = JSON.parse(
      Deno.readTextFileSync(new URL("../az-snp-vtpm/evidence-v1.json", DIR)),
    ) as Ev;
    const e = load("evidence-v1.json");
    e.hcl_report = snp.hcl_report;
    await rejects(
      v.evaluate({ evidence: e as JsonValue, reportData: CHALLENGE }),
      "bad-evidence",
      /HCL report holds a snp report/,
    );
  },
});
