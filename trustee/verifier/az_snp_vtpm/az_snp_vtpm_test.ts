import assert from "node:assert/strict";
import type { JsonValue } from "@coco/lib/json";
import { VerifierError } from "../types.ts";
import { createVerifier } from "../mod.ts";
import { AzSnpVtpmVerifier } from "./mod.ts";
import { parseAzEvidence, verifyUserData } from "../tpm/azure.ts";
import { parseHclReport } from "@coco/lib/tee/tpm";
import { verifySnpReport } from "../snp/mod.ts";

const DIR = new URL(
  "../../../../shared/testdata/trustee/deps/verifier/test_data/az-snp-vtpm/",
  import.meta.url,
);
const have = await Deno.stat(DIR).then(() => true, () => false);
if (!have) console.log(`SKIPPED az-snp-vtpm vector tests: ${DIR.pathname} is missing`);

type Ev = Record<string, unknown>;
const load = (f: string): Ev => JSON.parse(Deno.readTextFileSync(new URL(f, DIR)));
const CHALLENGE = new TextEncoder().encode("challenge");
const V2_RD = Uint8Array.fromHex(
  "982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef",
);

async function rejects(p: Promise<unknown>, code: string, message: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VerifierError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

const t = { ignore: !have };

for (
  const [file, rd, pcr00] of [
    [
      "evidence-v0.json",
      CHALLENGE,
      /^e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced$/,
    ],
    [
      "evidence-v1.json",
      CHALLENGE,
      /^e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced$/,
    ],
    [
      "evidence-v2.json",
      V2_RD,
      /^84275b2f4312cd4fc6cbe6b152ad3c3683e513d9f1e23c34fca160c8cca7a6a7$/,
    ],
  ] as const
) {
  Deno.test({
    ...t,
    name: `AzSnpVtpmVerifier verifies ${file} offline with the upstream expectations`,
    async fn() {
      const [out] = await createVerifier("az-snp-vtpm").evaluate({
        evidence: load(file) as JsonValue,
        reportData: rd,
      });
      const c = out!.claims;
      assert.equal(out!.teeClass, "cpu");
      assert.equal(c.report_data, rd.toHex());
      assert.match((c.tpm as Record<string, string>).pcr00!, pcr00);
      assert.equal(Object.keys(c.tpm as object).length, 24);
      assert.equal(c.init_data, (c.tpm as Record<string, string>).pcr08);
      // Azure encodes SNP values as strings and the measurement in base64.
      assert.equal(c.reported_tcb_bootloader, "4");
      assert.equal(c.reported_tcb_microcode, "219");
      assert.equal(c.reported_tcb_snp, "24");
      assert.equal(c.policy_abi_minor, "31");
      assert.equal(c.platform_smt_enabled, "true");
      assert.equal(c.policy_debug_allowed, "false");
      assert.equal(Uint8Array.fromBase64(c.measurement as string).length, 48);
    },
  });
}

function flipB64url(s: string, offset: number): string {
  const b = Uint8Array.fromBase64(s, { alphabet: "base64url" });
  b[offset]! ^= 0x01;
  return b.toBase64({ alphabet: "base64url" });
}

function flipHex(s: string, offset: number): string {
  const b = Uint8Array.fromHex(s);
  b[offset]! ^= 0x01;
  return b.toHex();
}

Deno.test({
  ...t,
  name: "AzSnpVtpmVerifier rejects tampered evidence-v1.json with the failing check named",
  async fn() {
    const v = new AzSnpVtpmVerifier();
    type Q = { signature: string; message: string; pcrs: string[] };
    const cases: [string, (e: Ev) => void, string, RegExp][] = [
      [
        "quote signature",
        (e) => {
          (e.tpm_quote as Q).signature = flipHex((e.tpm_quote as Q).signature, 10);
        },
        "bad-signature",
        /not signed by AKpub/,
      ],
      [
        "quote message",
        (e) => {
          (e.tpm_quote as Q).message = flipHex((e.tpm_quote as Q).message, 60);
        },
        "bad-signature",
        /not signed by AKpub/,
      ],
      [
        "PCR value",
        (e) => {
          (e.tpm_quote as Q).pcrs[2] = "00".repeat(32);
        },
        "bad-signature",
        /signed PCR digest/,
      ],
      [
        "AK modulus in the HCL variable data (0x0540)",
        (e) => {
          e.hcl_report = flipB64url(e.hcl_report as string, 0x0540);
        },
        "bad-signature",
        /not signed by AKpub/,
      ],
      [
        "SNP REPORT_DATA in the HCL",
        (e) => {
          e.hcl_report = flipB64url(e.hcl_report as string, 32 + 0x50);
        },
        "report-data-mismatch",
        /REPORT_DATA does not match SHA-256 of the HCL variable data/,
      ],
      [
        "SNP reported TCB in the HCL (0x01a6)",
        (e) => {
          e.hcl_report = flipB64url(e.hcl_report as string, 0x01a6);
        },
        "tcb-mismatch",
        /./,
      ],
      [
        "SNP report signature in the HCL",
        (e) => {
          e.hcl_report = flipB64url(e.hcl_report as string, 32 + 0x2a0 + 5);
        },
        "bad-signature",
        /./,
      ],
      [
        "VCEK certificate",
        (e) => {
          e.vcek = flipB64url(e.vcek as string, 300);
        },
        "bad-certificate-chain",
        /./,
      ],
      [
        "HCL signature",
        (e) => {
          e.hcl_report = flipB64url(e.hcl_report as string, 0);
        },
        "bad-evidence",
        /Cannot parse HCL report: signature/,
      ],
      [
        "version 3",
        (e) => {
          e.version = 3;
        },
        "bad-evidence",
        /version 3 is not 1 or 2/,
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
  name: "AzSnpVtpmVerifier requires exact report data and checks init-data in PCR 8",
  async fn() {
    const v = new AzSnpVtpmVerifier();
    const evidence = load("evidence-v1.json") as JsonValue;
    await rejects(v.evaluate({ evidence }), "report-data-mismatch", /report data is required/);
    const padded = new Uint8Array(64);
    padded.set(CHALLENGE);
    await rejects(
      v.evaluate({ evidence, reportData: padded }),
      "report-data-mismatch",
      /nonce does not match/,
    );
    await rejects(
      v.evaluate({ evidence, reportData: CHALLENGE, initDataHash: new Uint8Array(32).fill(1) }),
      "init-data-mismatch",
      /PCR 8/,
    );
  },
});

Deno.test({
  ...t,
  name: "AzSnpVtpmVerifier stops at the injected hardware check and at VMPL != 0",
  async fn() {
    const fail = new AzSnpVtpmVerifier(
      {},
      () => Promise.reject(new VerifierError("bad-signature", "hardware says no")),
    );
    await rejects(
      fail.evaluate({ evidence: load("evidence-v1.json") as JsonValue, reportData: CHALLENGE }),
      "bad-signature",
      /hardware says no/,
    );
    const vmpl1 = new AzSnpVtpmVerifier({}, async (r, pem, o) => {
      const { report } = await verifySnpReport(r, pem, o);
      return { report: { ...report, vmpl: 1 } };
    });
    await rejects(
      vmpl1.evaluate({ evidence: load("evidence-v1.json") as JsonValue, reportData: CHALLENGE }),
      "policy-violation",
      /issued at VMPL 1, not 0/,
    );
  },
});

Deno.test({
  ...t,
  name: "verifyUserData() compares v2 user-data with the report data",
  fn() {
    const e = parseAzEvidence("az-snp-vtpm", load("evidence-v2.json") as JsonValue);
    const hcl = parseHclReport(e.hclReport);
    verifyUserData("az-snp-vtpm", e, hcl, V2_RD);
    const wrong = V2_RD.slice();
    wrong[0]! ^= 1;
    assert.throws(
      () => verifyUserData("az-snp-vtpm", e, hcl, wrong),
      (err: unknown) =>
        err instanceof VerifierError && err.code === "report-data-mismatch" &&
        /user-data does not start/.test(err.message),
    );
  },
});
