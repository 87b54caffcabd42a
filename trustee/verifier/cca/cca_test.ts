import assert from "node:assert/strict";
import { hashCanonical } from "@coco/lib/kbs";
import { VerifierError, type VerifierErrorCode } from "../types.ts";
import { CborTag, decodeCbor, encodeCbor } from "./cbor.ts";
import { ccaEvidence, CcaVerifier, parseTrustAnchorStore, RAK_UNVERIFIED } from "./mod.ts";
import { INST_ID, mintCcaToken, mintKeys, type MintOptions, RIM } from "./_mint.ts";
import {
  readTestdata,
  TOKEN_01_CHALLENGE,
  TOKEN_02_CHALLENGE,
  tokenFromDiag,
} from "./_testdata.ts";

const keys = await mintKeys();
const trustAnchors = parseTrustAnchorStore(await readTestdata("tastore.json"));
const verifier = new CcaVerifier({ trustAnchors });
/** Report data as the KBS computes it: SHA-384 of the canonical runtime data (48 bytes). */
const REPORT_DATA = hashCanonical("sha384", {
  nonce: "c2FtcGxlIG5vbmNl",
  "tee-pubkey": { kty: "EC", crv: "P-256", alg: "ECDH-ES", x: "eA", y: "eQ" },
});
const CHALLENGE = new Uint8Array(64);
CHALLENGE.set(REPORT_DATA);

const mint = (o: Partial<MintOptions> = {}) =>
  mintCcaToken(keys, { realmChallenge: CHALLENGE, ...o });

function verifierError(code: VerifierErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof VerifierError, String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  };
}

/** Applies `edit` to the platform (44234) or realm (44241) COSE bytes of a token. */
function patch(token: Uint8Array, label: number, edit: (cose: Uint8Array) => void): Uint8Array {
  const coll = decodeCbor(token) as CborTag;
  const map = coll.value as Map<number, Uint8Array>;
  const cose = map.get(label)!.slice();
  edit(cose);
  map.set(label, cose);
  return encodeCbor(new CborTag(coll.tag, map));
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  return hay.toHex().indexOf(needle.toHex()) / 2;
}

Deno.test("CcaVerifier verifies the real rust-ccatoken vectors (ES384 and ES256 platform tokens)", async () => {
  const one = await new CcaVerifier({ trustAnchors }).evaluate({
    evidence: ccaEvidence(await tokenFromDiag("cca-token-01.diag")),
    reportData: TOKEN_01_CHALLENGE,
  });
  const c1 = one[0]!.claims;
  assert.equal(one[0]!.teeClass, "cpu");
  assert.deepEqual(c1.platform, {
    "cca-platform-implementation-id": "f0VMRgIBAQAAAAAAAAAAAAMAPgABAAAAUFgAAAAAAAA=",
    "cca-platform-instance-id": "AQcGBQQDAgEADw4NDAsKCQgXFhUUExIREB8eHRwbGhkY",
  });
  assert.equal(c1.report_data, "ab".repeat(64));
  assert.equal(
    c1.init_data,
    new TextEncoder().encode(
      "The quick brown fox jumps over 13 lazy dogs.The quick brown fox ",
    ).toHex(),
  );

  const ta02 = parseTrustAnchorStore(await readTestdata("ta-02-ok.json"));
  const two = await new CcaVerifier({ trustAnchors: ta02 }).evaluate({
    evidence: ccaEvidence(await tokenFromDiag("cca-token-02.diag")),
    reportData: TOKEN_02_CHALLENGE,
  });
  const realm = two[0]!.claims.realm as Record<string, unknown>;
  assert.equal(realm["cca-realm-hash-algo-id"], "sha-256");
  assert.equal(realm["cca-realm-challenge"], TOKEN_02_CHALLENGE.toBase64());
});

Deno.test("CcaVerifier accepts a token minted with the upstream keys and emits Trustee's claims", async () => {
  const [out] = await verifier.evaluate({
    evidence: ccaEvidence(await mint()),
    reportData: REPORT_DATA,
    initDataHash: new Uint8Array(64),
  });
  const zeros64 = new Uint8Array(64).toBase64();
  assert.deepEqual(out, {
    teeClass: "cpu",
    claims: {
      init_data: "0".repeat(128),
      platform: {
        "cca-platform-implementation-id": "f0VMRgIBAQAAAAAAAAAAAAMAPgABAAAAUFgAAAAAAAA=",
        "cca-platform-instance-id": "AQcGBQQDAgEADw4NDAsKCQgXFhUUExIREB8eHRwbGhkY",
      },
      realm: {
        "cca-realm-challenge": CHALLENGE.toBase64(),
        "cca-realm-extensible-measurements": [zeros64, zeros64, zeros64, zeros64],
        "cca-realm-hash-algo-id": "sha-512",
        "cca-realm-initial-measurement": RIM.toBase64(),
        "cca-realm-personalization-value": zeros64,
      },
      report_data: CHALLENGE.toHex(),
    },
  });
  assert.match(RIM.toBase64(), /^rof79\/EF5xp4.*sfA==$/);
});

Deno.test("CcaVerifier accepts the 2023 realm profile (RAK as COSE_Key) and sha-512 RAK hashes", async () => {
  for (const o of [{ realmProfile2023: true }, { rakHashAlg: "sha-512" as const }]) {
    const [out] = await verifier.evaluate({
      evidence: ccaEvidence(await mint(o)),
      reportData: CHALLENGE,
    });
    assert.equal(out!.claims.report_data, CHALLENGE.toHex());
  }
});

Deno.test("CcaVerifier rejects tampered tokens naming the failed check", async (t) => {
  const other = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, false, [
    "sign",
  ])) as CryptoKeyPair;
  const good = await mint();
  const otherInstance = INST_ID.slice();
  otherInstance[32] = 0x17;
  const cases: [string, () => Uint8Array | Promise<Uint8Array>, VerifierErrorCode, RegExp][] = [
    [
      "platform signature byte flipped",
      () => patch(good, 44234, (c) => (c[c.length - 1]! ^= 1)),
      "bad-signature",
      /^Cannot verify CCA evidence: RAK signature or RAK attestation could not be verified: platform token \(instance id 0107.*18\) signature does not verify$/,
    ],
    [
      "platform signed by another key",
      () => mint({ platformSigner: other.privateKey }),
      "bad-signature",
      /platform token \(instance id 0107\w+\) signature does not verify$/,
    ],
    [
      "realm signature byte flipped",
      () => patch(good, 44241, (c) => (c[c.length - 5]! ^= 0x80)),
      "bad-signature",
      /could not be verified: realm token signature does not verify$/,
    ],
    [
      "byte flipped in the signed realm challenge",
      () => patch(good, 44241, (c) => (c[indexOf(c, CHALLENGE.subarray(0, 48)) + 3]! ^= 1)),
      "bad-signature",
      /realm token signature does not verify$/,
    ],
    [
      "realm signed by a key other than its RAK",
      () => mint({ realmSigner: other.privateKey }),
      "bad-signature",
      /realm token signature does not verify$/,
    ],
    [
      "platform challenge is not the RAK hash",
      () => mint({ platformChallenge: new Uint8Array(32) }),
      "bad-signature",
      /could not be verified: platform challenge 0{64} is not the sha-256 digest of the realm public key \(RAK\), [0-9a-f]{64}$/,
    ],
    [
      "unknown platform instance (no CPAK)",
      () => mint({ instanceId: otherInstance }),
      "bad-certificate-chain",
      /could not be verified: no trust anchor \(CPAK\) for platform instance id 0107\w+17$/,
    ],
    [
      "CPAK endorsed for another implementation",
      () => mint({ implementationId: new Uint8Array(32) }),
      "bad-certificate-chain",
      /is endorsed for implementation id 7f454c46\w+, the token has 0{64}$/,
    ],
  ];
  for (const [name, make, code, message] of cases) {
    await t.step(name, async () => {
      await assert.rejects(
        verifier.evaluate({ evidence: ccaEvidence(await make()), reportData: REPORT_DATA }),
        verifierError(code, message),
      );
    });
  }
  assert.match(RAK_UNVERIFIED, /^RAK signature or RAK attestation/);
});

Deno.test("CcaVerifier binds the realm challenge to report data and perso to init-data", async () => {
  const evidence = ccaEvidence(await mint({ personalization: new Uint8Array(64).fill(7) }));
  const wrong = REPORT_DATA.slice();
  wrong[0]! ^= 1;
  await assert.rejects(
    verifier.evaluate({ evidence, reportData: wrong }),
    verifierError(
      "report-data-mismatch",
      /^Cannot verify CCA evidence: realm token challenge claim does not match expected_report_data \(token \w{128}, expected \w{128}\)$/,
    ),
  );
  await assert.rejects(
    verifier.evaluate({ evidence }),
    verifierError("report-data-mismatch", /CCA verifier must provide report data field/),
  );
  await assert.rejects(
    verifier.evaluate({ evidence, reportData: REPORT_DATA, initDataHash: new Uint8Array(64) }),
    verifierError(
      "init-data-mismatch",
      /init data hash is different from that in CCA token \(expected 0{128}, personalization value (07){64}\)$/,
    ),
  );
  // Compared raw, as upstream: a 32-byte digest never equals the 64-byte personalization value.
  await assert.rejects(
    verifier.evaluate({
      evidence,
      reportData: REPORT_DATA,
      initDataHash: new Uint8Array(32).fill(7),
    }),
    verifierError("init-data-mismatch", /init data hash is different/),
  );
  const [ok] = await verifier.evaluate({
    evidence,
    reportData: REPORT_DATA,
    initDataHash: new Uint8Array(64).fill(7),
  });
  assert.equal(ok!.claims.init_data, "07".repeat(64));
});
