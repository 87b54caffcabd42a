import assert from "node:assert/strict";
import * as jose from "jose";
import { signEar } from "./ear.ts";
import { loadSigner } from "./signer.ts";

Deno.test("signEar() output verifies with jose under the header jwk, for every signing path", async () => {
  const signer = await loadSigner(undefined);
  assert.ok(signer.d, "generated signers carry the raw scalar");
  const claims = { iss: "test", exp: Math.floor(Date.now() / 1000) + 60, n: [1, "ü"] };
  const noble = { privateKey: signer.privateKey, jwk: signer.jwk, d: signer.d };
  for (const s of [signer, noble, { privateKey: signer.privateKey, jwk: signer.jwk }]) {
    const token = await signEar(s, claims);
    const header = jose.decodeProtectedHeader(token);
    assert.deepEqual(header, { typ: "JWT", alg: "ES256", jwk: signer.jwk });
    const key = await jose.importJWK({ ...signer.jwk }, "ES256");
    const { payload } = await jose.jwtVerify(token, key, { algorithms: ["ES256"] });
    assert.deepEqual(payload, claims);
  }
  const forged = (await signEar(signer, claims)).replace(/\.[^.]+\./, `.${btoa("{}")}.`);
  await assert.rejects(
    jose.jwtVerify(forged, await jose.importJWK({ ...signer.jwk }, "ES256")),
  );
});
