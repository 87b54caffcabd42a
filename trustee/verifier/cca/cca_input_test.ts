import assert from "node:assert/strict";
import { runDeno } from "../../../tests/harness.ts";
import { VerifierError, type VerifierErrorCode } from "../types.ts";
import { CborTag, type CborValue, encodeCbor } from "./cbor.ts";
import {
  appraiseCca,
  ccaEvidence,
  CcaVerifier,
  decodeCcaToken,
  MAX_CCA_TOKEN_BYTES,
  parseRefValueStore,
  parseTrustAnchorStore,
  verifyCcaToken,
} from "./mod.ts";
import { CcaTokenError, parseRealmClaims } from "./token.ts";
import { mintCcaToken, mintKeys, RIM } from "./_mint.ts";
import { readTestdata, TESTDATA, tokenFromDiag } from "./_testdata.ts";

const keys = await mintKeys();
const CHALLENGE = new Uint8Array(64).fill(0x5a);
const good = await mintCcaToken(keys, { realmChallenge: CHALLENGE });
const trustAnchors = parseTrustAnchorStore(await readTestdata("tastore.json"));
const refValues = parseRefValueStore(await readTestdata("rvstore.json"));
const testdata = TESTDATA.pathname.replace(/\/$/, "");

function verifierError(code: VerifierErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof VerifierError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  };
}

Deno.test("CcaVerifier rejects malformed evidence and tokens with clear bad-evidence errors", async () => {
  const v = new CcaVerifier({ trustAnchors });
  const tag = (value: CborValue, t = 399) => ccaEvidence(encodeCbor(new CborTag(t, value)));
  const nested: CborValue = Array.from({ length: 200 }).reduce<CborValue>((x) => [x], 0);
  const cases: [unknown, RegExp][] = [
    [[1, 2], /Deserialize CCA Evidence failed: evidence must be an object/],
    [{ token: "2QGP" }, /"token" must be an array of byte values/],
    [{ token: [217, 256] }, /token\[1\] is 256, not a byte/],
    [{ token: new Array(MAX_CCA_TOKEN_BYTES + 1).fill(0) }, /more than the 65536 accepted/],
    ["{not json", /evidence is a string but not JSON/],
    [
      ccaEvidence(good.subarray(0, good.length - 10)),
      /not valid CBOR: CBOR byte string at offset \d+ declares length \d+ but only \d+ bytes remain/,
    ],
    [
      ccaEvidence(Uint8Array.fromHex("d9018fa119acca5bffffffffffffffff")),
      /declares length 18446744073709551615/,
    ],
    [tag(nested), /nests deeper than 16 levels/],
    [tag(new Map(), 907), /CCA token has CBOR tag 907, expected 399/],
    [tag(new Map([[44234, new Uint8Array(1)]])), /CCA token has no realm token \(44241\)/],
    [tag(new Map([[1, new Uint8Array(1)]])), /collection has unknown key 1/],
    [
      tag(new Map<number, CborValue>([[44234, "x"], [44241, new Uint8Array(1)]])),
      /platform token \(44234\) is not a byte string/,
    ],
    [
      ccaEvidence(new Uint8Array([0x18])),
      /not valid CBOR: CBOR argument at offset 1 needs 1 bytes/,
    ],
  ];
  for (const [evidence, message] of cases) {
    await assert.rejects(
      v.evaluate({ evidence: evidence as never, reportData: CHALLENGE }),
      verifierError("bad-evidence", message),
    );
  }
  // A JSON string holding the evidence object is accepted, as upstream.
  const [ok] = await v.evaluate({
    evidence: JSON.stringify(ccaEvidence(good)),
    reportData: CHALLENGE,
  });
  assert.equal(ok!.claims.report_data, CHALLENGE.toHex());
});

Deno.test("parseRealmClaims() names missing, mistyped and mis-sized claims", () => {
  const base = decodeCcaToken(good).realm.payload;
  const claims = (edit: (m: Map<number, CborValue>) => void) => {
    const m = realmClaimsMap(base);
    edit(m);
    return encodeCbor(m);
  };
  const cases: [(m: Map<number, CborValue>) => void, RegExp][] = [
    [(m) => m.delete(10), /realm token is missing the challenge claim \(10\)/],
    [(m) => m.set(10, new Uint8Array(32)), /challenge claim \(10\) is 32 bytes, expected 64/],
    [(m) => m.set(44236, 5), /hash algorithm claim \(44236\) is not text/],
    [(m) => m.set(44240, "md5"), /public key hash algorithm claim is "md5"/],
    [
      (m) => m.set(44239, [new Uint8Array(64)]),
      /extensible measurements claim \(44239\) is not an array of 4/,
    ],
    [
      (m) => m.set(265, "tag:example,2099:realm"),
      /realm token profile "tag:example,2099:realm" is not supported/,
    ],
    [
      (m) => m.set(44237, new Uint8Array(65)),
      /public key \(RAK\) claim \(44237\) is 65 bytes, expected 97/,
    ],
  ];
  for (const [edit, message] of cases) {
    assert.throws(() => parseRealmClaims(claims(edit)), (err) => {
      assert.ok(err instanceof CcaTokenError);
      assert.equal(err.code, "malformed");
      assert.match(err.message, message);
      return true;
    });
  }
});

/** The realm claims of `payload` as a CBOR map (known claims only). */
function realmClaimsMap(payload: Uint8Array): Map<number, CborValue> {
  const m = new Map<number, CborValue>();
  const c = parseRealmClaims(payload);
  m.set(10, c.challenge).set(44235, c.personalization).set(44236, c.hashAlg).set(44237, c.rak);
  m.set(44238, c.rim).set(44239, c.rems).set(44240, c.rakHashAlg);
  return m;
}

Deno.test("appraiseCca() matches firmware by implementation id and the realm by RIM and REMs", async () => {
  const appraise = (token: Uint8Array) => {
    const t = decodeCcaToken(token);
    return appraiseCca(refValues, t.platformClaims, t.realmClaims);
  };
  assert.deepEqual(await appraise(good), { platform: "affirming", realm: "approved-runtime" });
  const rims = RIM.slice();
  rims[0] = 0;
  assert.deepEqual(
    await appraise(await mintCcaToken(keys, { realmChallenge: CHALLENGE, rim: rims })),
    {
      platform: "affirming",
      realm: "unrecognized-boot",
    },
  );
  const rems = [0, 1, 2, 3].map((i) => new Uint8Array(64).fill(i));
  assert.deepEqual(await appraise(await mintCcaToken(keys, { realmChallenge: CHALLENGE, rems })), {
    platform: "affirming",
    realm: "contraindicated-runtime",
  });
  assert.deepEqual(await appraise(await tokenFromDiag("cca-token-01.diag")), {
    platform: "unrecognized-hardware",
    realm: "no-claim",
  });
  assert.deepEqual(await appraise(await tokenFromDiag("cca-token-02.diag")), {
    platform: "unrecognized-instance",
    realm: "no-claim",
  });
  const verified = await verifyCcaToken(good, {
    trustAnchors,
    refValues,
    expectedChallenge: CHALLENGE,
  });
  assert.deepEqual(verified.appraisal, { platform: "affirming", realm: "approved-runtime" });
});

Deno.test("CcaVerifier finds its stores in --collateral, a config file, or fails naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const evidence = ccaEvidence(good);
    const [a] = await new CcaVerifier({ collateralDir: testdata }).evaluate({
      evidence,
      reportData: CHALLENGE,
    });
    assert.equal(a!.claims.report_data, CHALLENGE.toHex());

    const config = `${dir}/cca-config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        "cca-verifier": {
          type: "local",
          "ta-store": `${testdata}/tastore.json`,
          "rv-store": `${testdata}/rvstore.json`,
        },
      }),
    );
    const [b] = await new CcaVerifier({ configFile: config }).evaluate({
      evidence,
      reportData: CHALLENGE,
    });
    assert.deepEqual(b, a);

    await assert.rejects(
      new CcaVerifier({ collateralDir: dir }).evaluate({ evidence, reportData: CHALLENGE }),
      verifierError(
        "collateral-unavailable",
        new RegExp(`cannot read the CCA trust-anchor store ${dir}/tastore.json`),
      ),
    );
    await Deno.writeTextFile(
      config,
      JSON.stringify({ "cca-verifier": { type: "remote", address: "https://v" } }),
    );
    await assert.rejects(
      new CcaVerifier({ configFile: config }).evaluate({ evidence, reportData: CHALLENGE }),
      verifierError("unsupported-tee", /selects the remote \(Veraison\) CCA verifier/),
    );
    await Deno.writeTextFile(
      `${dir}/tastore.json`,
      await readTestdata("cpak-priv.json").then((k) =>
        `[{"pkey": ${k}, "implementation-id": "00", "instance-id": "00"}]`
      ),
    );
    await assert.rejects(
      new CcaVerifier({ collateralDir: dir }).evaluate({ evidence, reportData: CHALLENGE }),
      verifierError(
        "collateral-unavailable",
        new RegExp(`${dir}/tastore.json: \\[0\\]\\.pkey holds a private key`),
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trustee verify --tee cca checks evidence JSON offline (config from CCA_CONFIG_FILE)", async () => {
  const dir = await Deno.makeTempDir();
  const main = new URL("../../main.ts", import.meta.url).pathname;
  try {
    const ev = `${dir}/evidence.json`;
    await Deno.writeTextFile(ev, JSON.stringify(ccaEvidence(good)));
    const config = `${dir}/cca-config.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        "cca-verifier": {
          type: "local",
          "ta-store": `${testdata}/tastore.json`,
          "rv-store": `${testdata}/rvstore.json`,
        },
      }),
    );
    const args = ["run", "-A", main, "verify", "--tee", "cca", "--evidence", ev, "--report-data"];
    const ok = await runDeno([...args, CHALLENGE.toHex()], { CCA_CONFIG_FILE: config });
    assert.equal(ok.code, 0, ok.stderr);
    const claims = JSON.parse(ok.stdout);
    assert.equal(claims.report_data, CHALLENGE.toHex());
    assert.equal(claims.realm["cca-realm-initial-measurement"], RIM.toBase64());

    const bad = await runDeno([...args, "00", "--collateral", testdata]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /cca evidence rejected \(report-data-mismatch\): Cannot verify CCA evidence: realm token challenge claim does not match expected_report_data/,
    );
    assert.equal(bad.stdout, "");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
