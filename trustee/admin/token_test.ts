import assert from "node:assert/strict";
import { decodeJwt, decodeProtectedHeader, importSPKI, jwtVerify } from "jose";
import { testKey } from "./_testing.ts";
import { generateAdminKeyPair, mintAdminToken } from "./token.ts";

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0, 500);
const NOW_S = Math.floor(NOW / 1000);

Deno.test("generateAdminKeyPair() returns PKCS#8 and SPKI PEMs when called", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAdminKeyPair();
  assert.match(
    privateKeyPem,
    /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n?$/,
  );
  assert.match(
    publicKeyPem,
    /^-----BEGIN PUBLIC KEY-----\nMCowBQYDK2Vw[A-Za-z0-9+/=]+\n-----END PUBLIC KEY-----\n?$/,
  );
  const other = await generateAdminKeyPair();
  assert.notEqual(other.publicKeyPem, publicKeyPem);
});

Deno.test("mintAdminToken() writes the upstream claims plus role when given options", async () => {
  const { privateKeyPem, publicKeyPem } = await generateAdminKeyPair();
  const token = await mintAdminToken(privateKeyPem, {
    issuer: "TrusteeInDocker",
    audience: "KBS",
    ttlSeconds: 315360000,
  }, NOW);
  assert.deepEqual(decodeProtectedHeader(token), { alg: "EdDSA", typ: "JWT" });
  assert.deepEqual(decodeJwt(token), {
    iss: "TrusteeInDocker",
    sub: "admin",
    aud: ["KBS"],
    role: "admin",
    iat: NOW_S,
    exp: NOW_S + 315360000,
  });
  const verified = await jwtVerify(token, await importSPKI(publicKeyPem, "EdDSA"), {
    currentDate: new Date(NOW),
  });
  assert.equal(verified.payload.role, "admin");
});

Deno.test("mintAdminToken() uses defaults and omits aud when only ttlSeconds is given", async () => {
  const { privateKeyPem } = await generateAdminKeyPair();
  const token = await mintAdminToken(
    privateKeyPem,
    { role: "reader", ttlSeconds: 60, keyId: "k1" },
    NOW,
  );
  assert.deepEqual(decodeProtectedHeader(token), { alg: "EdDSA", typ: "JWT", kid: "k1" });
  assert.deepEqual(decodeJwt(token), {
    iss: "trustee",
    sub: "reader",
    role: "reader",
    iat: NOW_S,
    exp: NOW_S + 60,
  });
});

for (const [keyAlg, expected] of [["ES256", "ES256"], ["ES384", "ES384"], ["RS256", "RS256"]]) {
  Deno.test(`mintAdminToken() signs with ${expected} when the private key is ${keyAlg}`, async () => {
    const key = await testKey(keyAlg!);
    const token = await mintAdminToken(key.privateKeyPem, { ttlSeconds: 60 }, NOW);
    assert.equal(decodeProtectedHeader(token).alg, expected);
    await jwtVerify(token, await importSPKI(key.publicKeyPem, expected!), {
      currentDate: new Date(NOW),
    });
  });
}

Deno.test("mintAdminToken() throws when ttlSeconds is not positive", async () => {
  const { privateKeyPem } = await generateAdminKeyPair();
  await assert.rejects(mintAdminToken(privateKeyPem, { ttlSeconds: 0 }), {
    name: "RangeError",
    message: "Cannot mint admin token: ttlSeconds must be positive, got 0",
  });
});

Deno.test("mintAdminToken() throws when the key is not a PKCS#8 private key", async () => {
  const { publicKeyPem } = await generateAdminKeyPair();
  await assert.rejects(mintAdminToken(publicKeyPem, { ttlSeconds: 60 }), {
    message:
      "Cannot mint admin token: the private key is not a PKCS#8 Ed25519, EC P-256/P-384 or RSA key",
  });
});
