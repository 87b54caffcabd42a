import assert from "node:assert/strict";
import * as jose from "jose";
import { decryptResource, encryptResource, JweError, parseFlattenedJwe } from "./jwe.ts";
import { generateTeeKeyPair, TEE_KEY_ALGORITHMS, teeKeyFromPem, teeKeyToPem } from "./tee_key.ts";

const secret = new TextEncoder().encode("top secret 🔑");

for (const alg of TEE_KEY_ALGORITHMS) {
  Deno.test(`encryptResource() round-trips through decryptResource() for ${alg}`, async () => {
    const pair = await generateTeeKeyPair(alg);
    const jwe = await encryptResource(pair.publicJwk, secret);
    assert.deepEqual(
      await decryptResource(parseFlattenedJwe(jwe), pair.privateKey, pair.privateJwk),
      secret,
    );
  });

  Deno.test(`encryptResource() output is decryptable by npm:jose for ${alg}`, async () => {
    const pair = await generateTeeKeyPair(alg);
    const jwe = await encryptResource(pair.publicJwk, secret);
    const key = await jose.importJWK(
      { ...pair.privateJwk, alg: pair.publicJwk.alg },
      pair.publicJwk.alg,
    );
    const out = await jose.flattenedDecrypt(jwe, key);
    assert.deepEqual(out.plaintext, secret);
  });

  Deno.test(`teeKeyToPem() and teeKeyFromPem() keep the key for ${alg}`, async () => {
    const pair = await generateTeeKeyPair(alg);
    const pem = teeKeyToPem(pair);
    assert.match(pem, alg === "RSA-OAEP-256" ? /BEGIN RSA PRIVATE KEY/ : /BEGIN PRIVATE KEY/);
    const back = await teeKeyFromPem(pem);
    assert.deepEqual(back.publicJwk, pair.publicJwk);
    const jwe = await encryptResource(pair.publicJwk, secret);
    assert.deepEqual(await decryptResource(jwe, back.privateKey, back.privateJwk), secret);
  });
}

Deno.test("encryptResource() writes the header compactly, alg and enc first, epk sorted", async () => {
  const pair = await generateTeeKeyPair();
  const jwe = await encryptResource(pair.publicJwk, secret);
  const header = new TextDecoder().decode(
    Uint8Array.fromBase64(jwe.protected, { alphabet: "base64url" }),
  );
  assert.match(
    header,
    /^\{"alg":"ECDH-ES\+A256KW","enc":"A256GCM","epk":\{"crv":"P-256","kty":"EC","x":"[^"]+","y":"[^"]+"\}\}$/,
  );
  assert.equal(Uint8Array.fromBase64(jwe.encrypted_key, { alphabet: "base64url" }).length, 40);
  assert.equal(Uint8Array.fromBase64(jwe.iv, { alphabet: "base64url" }).length, 12);
  assert.equal(Uint8Array.fromBase64(jwe.tag, { alphabet: "base64url" }).length, 16);
  const rsa = await encryptResource((await generateTeeKeyPair("RSA-OAEP-256")).publicJwk, secret);
  assert.equal(atob(rsa.protected), '{"alg":"RSA-OAEP-256","enc":"A256GCM"}');
});

Deno.test("encryptResource() supports the deprecated RSA1_5 key wrap", async () => {
  const pair = await generateTeeKeyPair("RSA-OAEP-256");
  const jwe = await encryptResource(
    { ...pair.publicJwk, alg: "RSA1_5" } as typeof pair.publicJwk,
    secret,
  );
  assert.equal(atob(jwe.protected), '{"alg":"RSA1_5","enc":"A256GCM"}');
  assert.equal(Uint8Array.fromBase64(jwe.encrypted_key, { alphabet: "base64url" }).length, 256);
});

Deno.test("encryptResource() rejects unsupported key combinations with JweError", async () => {
  const pair = await generateTeeKeyPair();
  await assert.rejects(
    encryptResource({ ...pair.publicJwk, alg: "ECDH-ES" } as typeof pair.publicJwk, secret),
    (e) =>
      e instanceof JweError && e.code === "unsupported-key" &&
      /unsupported tee-pubkey EC P-256 ECDH-ES/.test(e.message),
  );
  await assert.rejects(
    encryptResource({ ...pair.publicJwk, x: "AAAA" } as typeof pair.publicJwk, secret),
    (e) => e instanceof JweError && e.code === "unsupported-key",
  );
});

Deno.test("decryptResource() fails clearly on a tampered ciphertext or the wrong key", async () => {
  const pair = await generateTeeKeyPair();
  const jwe = await encryptResource(pair.publicJwk, secret);
  const ct = Uint8Array.fromBase64(jwe.ciphertext, { alphabet: "base64url" });
  ct[0]! ^= 1;
  const tampered = {
    ...jwe,
    ciphertext: ct.toBase64({ alphabet: "base64url", omitPadding: true }),
  };
  await assert.rejects(
    decryptResource(tampered, pair.privateKey, pair.privateJwk),
    /authentication tag/,
  );
  const other = await generateTeeKeyPair();
  await assert.rejects(decryptResource(jwe, other.privateKey, other.privateJwk), JweError);
  await assert.rejects(
    decryptResource({ ...jwe, protected: "%%" }, pair.privateKey, pair.privateJwk),
    /base64url/,
  );
  assert.throws(() => parseFlattenedJwe({ protected: "x" }), /encrypted_key must be a string/);
});
