/**
 * TdxVerifier against real Intel evidence: tdx_quote_6 with the shipped TCB info / QE identity
 * and Intel's TCB signing chain and CRLs (testdata/), az td-quote.bin collateral-free, and
 * tampered copies that must fail with the check's code and message.
 */
import assert from "node:assert/strict";
import { parseTdxQuote } from "@coco/lib/tee/tdx";
import { VerifierError } from "../types.ts";
import { createVerifier } from "../mod.ts";
import { parseTdxEvidence, TdxVerifier, verifyTdxQuote } from "./mod.ts";

const D = new URL("../../../../shared/testdata/trustee/deps/verifier/test_data/", import.meta.url);
const T = new URL("./testdata/", import.meta.url);
const haveShared = await Deno.stat(D).then(() => true, () => false);
const IN_WINDOW = () => new Date("2025-11-01T00:00:00Z");
const t = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: !haveShared, sanitizeOps: true, sanitizeResources: true, fn });

async function intelCollateralDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tdx-collateral-" });
  await Deno.copyFile(new URL("tcbInfo.json", D), `${dir}/tcbinfo-00a06d080000.json`);
  await Deno.copyFile(new URL("enclaveIdentity.json", D), `${dir}/qe-identity.json`);
  await Deno.copyFile(new URL("intel-tcb-signing-chain.pem", T), `${dir}/tcb-signing-chain.pem`);
  await Deno.copyFile(new URL("intel-pck-crl-platform.der", T), `${dir}/pck-crl-platform.der`);
  await Deno.copyFile(new URL("intel-root-ca-crl.der", T), `${dir}/root-ca-crl.der`);
  return dir;
}

const quote6 = () => Deno.readFile(new URL("tdx_quote_6.dat", D));
const azQuote = () => Deno.readFile(new URL("az-tdx-vtpm/td-quote.bin", D));

async function rejects(p: Promise<unknown>, code: string, message: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VerifierError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  });
}

t("verifyTdxQuote() runs the full DCAP path on tdx_quote_6 with Intel collateral", async () => {
  const dir = await intelCollateralDir();
  try {
    const { claims } = await verifyTdxQuote(await quote6(), { collateralDir: dir, now: IN_WINDOW });
    assert.equal(claims.tcb_status, "OutOfDate");
    assert.equal(claims.dcap_collateral, undefined);
    assert.equal(claims.tcb_date, "2018-01-04T00:00:00Z");
    assert.deepEqual(claims.advisory_ids, []);
    assert.equal(claims.tcb_eval_num, 17);
    assert.equal(claims.sgx_type, "Scalable with Integrity");
    assert.equal(claims.is_dynamic_platform, true);
    assert.equal(claims.is_cached_keys, false);
    assert.equal(claims.is_smt_enabled, true);
    assert.equal(claims.platform_provider_id, "9c81e0b5c22e28a3f29d7b4db52c2049");
    assert.equal(claims.platform_instance_id, "99191e4ad7393cd579c4166bbaf5ea02");
    assert.equal(claims.earliest_issue_date, "2018-05-21T10:45:10Z");
    assert.equal(claims.collateral_expiration_status, "0");
    assert.equal(claims.pck_crl_num, 1);
    assert.equal(claims.root_ca_crl_num, 1);
    assert.equal(
      claims.root_key_id,
      "46e403bd34f05a3f2817ab9badcaacc7ffc98e0f261008cd30dae936cace18d5dcf58eef31463613de1570d516200993",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

t("verifyTdxQuote() marks collateral expired after nextUpdate without failing", async () => {
  const dir = await intelCollateralDir();
  try {
    const { claims } = await verifyTdxQuote(await quote6(), {
      collateralDir: dir,
      now: () => new Date("2025-12-15T00:00:00Z"),
    });
    assert.equal(claims.collateral_expiration_status, "1");
    assert.equal(claims.tcb_status, "OutOfDate");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

t(
  "verifyTdxQuote() fails collateral-unavailable when the directory has no TCB info for the FMSPC",
  async () => {
    const dir = await intelCollateralDir();
    try {
      await rejects(
        verifyTdxQuote(await azQuote(), { collateralDir: dir }),
        "collateral-unavailable",
        /no TCB info for FMSPC 00806f050000/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

t("verifyTdxQuote() verifies the collateral-free part of the Azure TD quote", async () => {
  const { quote, claims } = await verifyTdxQuote(await azQuote(), {});
  assert.equal(quote.header.version, 4);
  assert.equal(claims.tcb_status, undefined);
  // Not a silent skip: the claims say the TCB was not evaluated.
  assert.equal(claims.dcap_collateral, "not-configured");
  assert.equal(claims.platform_instance_id, "ffa7dfed7d49193bcdcc6868ffdca52c");
});

t("verifyTdxQuote() rejects tampered signature fields in TCB info", async () => {
  const dir = await intelCollateralDir();
  try {
    const p = `${dir}/tcbinfo-00a06d080000.json`;
    const text = await Deno.readTextFile(p);
    await Deno.writeTextFile(
      p,
      text.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18'),
    );
    await rejects(
      verifyTdxQuote(await quote6(), { collateralDir: dir, now: IN_WINDOW }),
      "bad-signature",
      /TCB info signature does not verify/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function flip(b: Uint8Array, at: number): Uint8Array {
  const c = b.slice();
  c[at]! ^= 0x01;
  return c;
}

t("verifyTdxQuote() names the failing check for each tampered byte", async () => {
  const q = await quote6();
  const parsed = parseTdxQuote(q);
  const sigStart = parsed.signedRegion.length + 4;
  const qeReportAt = sigStart + 134;
  const pemAt = new TextDecoder("latin1").decode(q).indexOf("-----BEGIN CERTIFICATE-----");
  const cases: [string, Uint8Array, string, RegExp][] = [
    ["body byte", flip(q, 200), "bad-signature", /quote signature does not verify/],
    ["header user data", flip(q, 30), "bad-signature", /quote signature does not verify/],
    ["quote signature", flip(q, sigStart + 10), "bad-signature", /quote signature does not verify/],
    [
      "attestation key",
      flip(q, sigStart + 70),
      "bad-signature",
      /QE report data is not SHA-256|not a P-256 point/,
    ],
    ["QE report", flip(q, qeReportAt + 5), "bad-signature", /QE report signature does not verify/],
    ["QE report signature", flip(q, qeReportAt + 400), "bad-signature", /QE report signature/],
    ["PCK certificate body", flip(q, pemAt + 400), "bad-certificate-chain", /.+/],
    ["truncated", q.subarray(0, 700), "bad-evidence", /truncated at/],
  ];
  for (const [name, bytes, code, msg] of cases) {
    await assert.rejects(verifyTdxQuote(bytes, {}), (err: unknown) => {
      assert.ok(err instanceof VerifierError, `${name}: ${err}`);
      assert.equal(err.code, code, `${name}: ${err.message}`);
      assert.match(err.message, msg, name);
      return true;
    });
  }
});

t("TdxVerifier binds report data and MRCONFIGID (init-data)", async () => {
  const q = await quote6();
  const body = parseTdxQuote(q).body;
  const v = createVerifier("tdx", {});
  const evidence = { cc_eventlog: null, quote: q.toBase64() };
  const [ok] = await v.evaluate({
    evidence,
    reportData: body.reportData.subarray(0, 48),
    initDataHash: body.mrConfigId,
  });
  assert.equal(ok!.teeClass, "cpu");
  assert.equal(ok!.claims.report_data, body.reportData.toHex());
  assert.equal(ok!.claims.init_data, body.mrConfigId.toHex());
  await rejects(
    v.evaluate({ evidence, reportData: new Uint8Array(48) }),
    "report-data-mismatch",
    /REPORT_DATA is different/,
  );
  await rejects(
    v.evaluate({ evidence, initDataHash: new Uint8Array(32) }),
    "init-data-mismatch",
    /MRCONFIGID is different/,
  );
});

t("TdxVerifier fails event log replay when the log does not match the RTMRs", async () => {
  const log = await Deno.readFile(new URL("CCEL_data", D));
  const v = new TdxVerifier({});
  await rejects(
    v.evaluate({ evidence: { cc_eventlog: log.toBase64(), quote: (await quote6()).toBase64() } }),
    "bad-evidence",
    /Eventlog does not pass measurement replay.*index = 1/,
  );
});

Deno.test("parseTdxEvidence() rejects evidence without a quote", () => {
  assert.throws(() => parseTdxEvidence({ cc_eventlog: null }), /base64 `quote`/);
  assert.throws(() => parseTdxEvidence({ quote: "", cc_eventlog: 5 }), /cc_eventlog/);
});
