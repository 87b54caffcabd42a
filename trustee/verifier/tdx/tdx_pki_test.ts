/**
 * TdxVerifier under a test PKI shaped like Intel's (_test_pki.ts): the claims of
 * parse_tdx_claims_expected.json byte for byte (quote 4's header and body, rebuilt from that
 * file, re-signed), CRL revocation, certificate expiry with a pinned clock, collateral from a
 * PCCS through an injected fetch with its cache, and a v5 TD 1.5 quote.
 */
import assert from "node:assert/strict";
import { concat } from "@coco/lib/bytes";
import { eventJson, parseCcEventLog } from "@coco/lib/eventlog";
import { parseTdxQuote } from "@coco/lib/tee/tdx";
import { VerifierError } from "../types.ts";
import { quoteClaims } from "./claims.ts";
import { TdxVerifier, verifyTdxQuoteDetailed } from "./mod.ts";
import {
  makeCrl,
  makeTestPki,
  pem,
  resignQuote,
  signCollateral,
  type TestPki,
} from "./_test_pki.ts";

const D = new URL("../../../../shared/testdata/trustee/deps/verifier/test_data/", import.meta.url);
const haveShared = await Deno.stat(D).then(() => true, () => false);
const NOW = () => new Date("2025-11-01T00:00:00Z");
const t = (name: string, fn: () => Promise<void>) => Deno.test({ name, ignore: !haveShared, fn });

async function quote6(): Promise<Uint8Array> {
  return await Deno.readFile(new URL("tdx_quote_6.dat", D));
}

/** The real quote 6 leaf's SGX extension, with the platform instance id replaced. */
async function sgxExtension(platformInstanceIdClaim?: string): Promise<ArrayBuffer> {
  const { x509 } = await import("./_x509.ts");
  const pemText = parseTdxQuote(await quote6()).signature.pckChainPem;
  const leaf = new x509.X509Certificate(
    pemText.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0],
  );
  const ext = new Uint8Array(leaf.getExtension("1.2.840.113741.1.13.1")!.value);
  if (platformInstanceIdClaim) {
    const old = Uint8Array.fromHex("99191e4ad7393cd579c4166bbaf5ea02").toReversed().toHex();
    const at = ext.toHex().indexOf(old) / 2;
    ext.set(Uint8Array.fromHex(platformInstanceIdClaim).toReversed(), at);
  }
  return ext.buffer;
}

function errorWith(code: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof VerifierError, String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    return true;
  };
}

async function collateralDir(pki: TestPki, opts: { revoke?: string[] } = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tdx-pki-" });
  const tcb = JSON.parse(await Deno.readTextFile(new URL("tcbInfo.json", D))).tcbInfo;
  const qe =
    JSON.parse(await Deno.readTextFile(new URL("enclaveIdentity.json", D))).enclaveIdentity;
  await Deno.writeTextFile(
    `${dir}/tcbinfo-00a06d080000.json`,
    await signCollateral(pki, "tcbInfo", tcb),
  );
  await Deno.writeTextFile(
    `${dir}/qe-identity.json`,
    await signCollateral(pki, "enclaveIdentity", qe),
  );
  await Deno.writeTextFile(`${dir}/tcb-signing-chain.pem`, pem(pki.tcbSigning, pki.root));
  await Deno.writeFile(
    `${dir}/pck-crl-platform.der`,
    await makeCrl(pki.platformCa, pki.keys.ca.privateKey, opts.revoke ?? []),
  );
  await Deno.writeFile(
    `${dir}/root-ca-crl.der`,
    await makeCrl(pki.root, pki.keys.root.privateKey, []),
  );
  return dir;
}

t("claims of quote 4 + CCEL_data equal parse_tdx_claims_expected.json byte for byte", async () => {
  const expectedText = await Deno.readTextFile(new URL("parse_tdx_claims_expected.json", D));
  const expected = JSON.parse(expectedText);
  const h = expected.quote.header;
  const b = expected.quote.body;
  const region = Uint8Array.fromHex(
    h.version + h.att_key_type + h.tee_type + h.reserved + h.vendor_id + h.user_data +
      b.tcb_svn + b.mr_seam + b.mrsigner_seam + b.seam_attributes + b.td_attributes + b.xfam +
      b.mr_td + b.mr_config_id + b.mr_owner + b.mr_owner_config + b.rtmr_0 + b.rtmr_1 + b.rtmr_2 +
      b.rtmr_3 + b.report_data,
  );
  const pki = await makeTestPki({
    sgxExtension: await sgxExtension(expected.platform_instance_id),
  });
  const quote = await resignQuote(pki, await quote6(), region);
  const v = await verifyTdxQuoteDetailed(quote, { now: NOW }, pki.trust);
  const log = parseCcEventLog(await Deno.readFile(new URL("CCEL_data", D)));
  const claims = quoteClaims(v.quote, v.pck, log.entries.map(eventJson));
  assert.equal(JSON.stringify(claims, null, 2), expectedText);
});

t("TdxVerifier evaluates a re-signed quote with collateral from a directory", async () => {
  const pki = await makeTestPki({ sgxExtension: await sgxExtension() });
  const dir = await collateralDir(pki);
  try {
    const quote = await resignQuote(pki, await quote6());
    const v = new TdxVerifier({ collateralDir: dir, now: NOW }, pki.trust);
    const [r] = await v.evaluate({ evidence: { cc_eventlog: null, quote: quote.toBase64() } });
    assert.equal(r!.claims.tcb_status, "OutOfDate");
    assert.equal(r!.claims.pck_crl_num, 7);
    assert.equal(r!.claims.collateral_expiration_status, "0");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

t("TdxVerifier rejects a PCK certificate revoked by the PCK CRL", async () => {
  const pki = await makeTestPki({ sgxExtension: await sgxExtension(), leafSerial: "5a" });
  const dir = await collateralDir(pki, { revoke: ["5a"] });
  try {
    const quote = await resignQuote(pki, await quote6());
    const v = new TdxVerifier({ collateralDir: dir, now: NOW }, pki.trust);
    await assert.rejects(
      v.evaluate({ evidence: { cc_eventlog: null, quote: quote.toBase64() } }),
      errorWith("revoked", /PCK certificate \(serial 5a\) is revoked/),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

t("TdxVerifier rejects an expired PCK certificate at the pinned clock", async () => {
  const pki = await makeTestPki({
    sgxExtension: await sgxExtension(),
    leafNotBefore: new Date("2020-01-01T00:00:00Z"),
    leafNotAfter: new Date("2024-01-01T00:00:00Z"),
  });
  const quote = await resignQuote(pki, await quote6());
  await assert.rejects(
    verifyTdxQuoteDetailed(quote, { now: NOW }, pki.trust),
    errorWith("expired", /PCK certificate is valid .* not at 2025-11-01/),
  );
  const ok = await verifyTdxQuoteDetailed(quote, { now: () => new Date("2023-06-01") }, pki.trust);
  assert.equal(ok.quote.header.version, 4);
});

t("TdxVerifier rejects a chain whose root is not the pinned key", async () => {
  const pki = await makeTestPki({ sgxExtension: await sgxExtension() });
  const quote = await resignQuote(pki, await quote6());
  await assert.rejects(
    verifyTdxQuoteDetailed(quote, { now: NOW }),
    errorWith("bad-certificate-chain", /root key is not the pinned Intel SGX Root CA key/),
  );
});

t("TdxVerifier fetches collateral from a PCCS once and serves it from the cache", async () => {
  const pki = await makeTestPki({ sgxExtension: await sgxExtension() });
  const dir = await collateralDir(pki);
  try {
    const requests: string[] = [];
    const chainHeader = encodeURIComponent(pem(pki.tcbSigning, pki.root));
    const fake: typeof fetch = async (input) => {
      const url = new URL(String(input));
      requests.push(url.pathname + url.search);
      const file = url.pathname.endsWith("/tcb")
        ? "tcbinfo-00a06d080000.json"
        : url.pathname.endsWith("/identity")
        ? "qe-identity.json"
        : url.pathname.endsWith("/pckcrl")
        ? "pck-crl-platform.der"
        : "root-ca-crl.der";
      return new Response(await Deno.readFile(`${dir}/${file}`), {
        headers: {
          "TCB-Info-Issuer-Chain": chainHeader,
          "SGX-Enclave-Identity-Issuer-Chain": chainHeader,
        },
      });
    };
    const v = new TdxVerifier({
      pccsUrl: "https://pccs.example/sgx/certification/v4/",
      fetch: fake,
      now: NOW,
    }, pki.trust);
    const quote = (await resignQuote(pki, await quote6())).toBase64();
    for (let i = 0; i < 3; i++) {
      const [r] = await v.evaluate({ evidence: { cc_eventlog: null, quote } });
      assert.equal(r!.claims.tcb_status, "OutOfDate");
    }
    assert.deepEqual(requests, [
      "/tdx/certification/v4/tcb?fmspc=00A06D080000",
      "/tdx/certification/v4/qe/identity",
      "/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
      "/sgx/certification/v4/rootcacrl",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

t("TdxVerifier evaluates a v5 TD 1.5 quote twice (launch and current TCB)", async () => {
  const pki = await makeTestPki({ sgxExtension: await sgxExtension() });
  const dir = await collateralDir(pki);
  try {
    const q6 = parseTdxQuote(await quote6());
    const header = q6.signedRegion.slice(0, 48);
    header[0] = 5;
    const svn2 = q6.body.teeTcbSvn.slice();
    const region = concat(
      header,
      new Uint8Array([3, 0, 0x88, 2, 0, 0]),
      q6.body.raw,
      svn2,
      new Uint8Array(48),
    );
    const quote = await resignQuote(pki, await quote6(), region);
    const v = new TdxVerifier({ collateralDir: dir, now: NOW }, pki.trust);
    const [r] = await v.evaluate({ evidence: { cc_eventlog: null, quote: quote.toBase64() } });
    const qc = r!.claims.quote as Record<string, unknown>;
    assert.equal(qc.type, "0300");
    assert.equal(qc.size, "88020000");
    assert.equal((qc.body as Record<string, unknown>).tee_tcb_svn2, svn2.toHex());
    assert.equal(r!.claims.tcb_status, "OutOfDate");
    assert.equal(r!.claims.tcb_status_current, "OutOfDate");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
