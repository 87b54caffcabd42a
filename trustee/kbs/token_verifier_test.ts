import assert from "node:assert/strict";
import { endorsementFailure, pemCertificates } from "./token_verifier.ts";

const DIR = new URL("../../../shared/testdata/trustee/kbs/test_data/jwk/", import.meta.url);
const NOW = Date.UTC(2026, 10, 22);

// Upstream's x5c endorsement matrix (kbs/test_data/jwk, crypto/jwt.rs tests).
const CASES: Array<[string, RegExp | undefined]> = [
  ["scenario01", undefined], // self-signed root in the trust store
  ["scenario02", /does not hold the header jwk/], // leaf and jwk differ
  ["scenario03", /no x5c chain/],
  ["scenario04", /does not lead to a trusted certificate/], // wrong anchor
  ["scenario05", undefined], // leaf + intermediate, trusted root
  ["scenario06", undefined], // permuted intermediates, decoy root beside the real one
  ["scenario07", undefined], // partial chain in the trust file
];

for (const [name, want] of CASES) {
  Deno.test(`endorsementFailure() for upstream ${name} is ${want ? "a refusal" : "accepted"}`, async () => {
    const jwk = JSON.parse(await Deno.readTextFile(new URL(`${name}-jwk.json`, DIR)));
    const anchors = pemCertificates(await Deno.readTextFile(new URL(`${name}-trust.pem`, DIR)));
    const why = endorsementFailure(jwk, anchors, NOW);
    if (want) assert.match(why ?? "accepted", want);
    else assert.equal(why, undefined);
  });
}

Deno.test("endorsementFailure() refuses certificates outside their validity period", async () => {
  const jwk = JSON.parse(await Deno.readTextFile(new URL("scenario01-jwk.json", DIR)));
  const anchors = pemCertificates(await Deno.readTextFile(new URL("scenario01-trust.pem", DIR)));
  assert.match(endorsementFailure(jwk, anchors, Date.UTC(2040, 0, 1)) ?? "", /does not lead/);
});
