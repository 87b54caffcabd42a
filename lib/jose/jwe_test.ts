import assert from "node:assert/strict";
import * as jose from "jose";
import { decryptResource, encryptResource, JweError, parseFlattenedJwe } from "./jwe.ts";
import { generateTeeKeyPair, TEE_KEY_ALGORITHMS, teeKeyFromPem, teeKeyToPem } from "./tee_key.ts";
import { cryptoBackend, useLibcrypto } from "./_libcrypto.ts";

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

Deno.test("decryptResource() decrypts repeatedly with one TEE key (WebCrypto, then node ECDH)", async () => {
  for (const alg of ["ECDH-ES+A256KW-P256", "ECDH-ES+A256KW-P521"] as const) {
    const pair = await generateTeeKeyPair(alg);
    const other = await generateTeeKeyPair(alg);
    for (let i = 0; i < 3; i++) {
      const text = new TextEncoder().encode(`secret ${i}`);
      const jwe = await encryptResource(pair.publicJwk, text);
      assert.deepEqual(await decryptResource(jwe, pair.privateKey, pair.privateJwk), text);
      // A JWE for another key fails on every use, whichever ECDH implementation runs.
      await assert.rejects(
        decryptResource(
          await encryptResource(other.publicJwk, text),
          pair.privateKey,
          pair.privateJwk,
        ),
        (e) => e instanceof JweError && e.code === "decrypt-failed",
      );
    }
  }
});

Deno.test("decryptResource() names a wrong-sized iv or tag", async () => {
  const pair = await generateTeeKeyPair();
  const jwe = await encryptResource(pair.publicJwk, secret);
  await assert.rejects(
    decryptResource({ ...jwe, iv: "AAAA" }, pair.privateKey, pair.privateJwk),
    (e) => e instanceof JweError && e.code === "bad-jwe" && /iv is 3 bytes/.test(e.message),
  );
  await assert.rejects(
    decryptResource({ ...jwe, tag: jwe.tag.slice(0, 8) }, pair.privateKey, pair.privateJwk),
    (e) => e instanceof JweError && /tag is 6 bytes, A256GCM needs 16/.test(e.message),
  );
});

Deno.test("decryptResource() refuses an epk that is not on the curve, on every use", async () => {
  const pair = await generateTeeKeyPair();
  const jwe = await encryptResource(pair.publicJwk, secret);
  const header = JSON.parse(atob(jwe.protected.replaceAll("-", "+").replaceAll("_", "/")));
  const y = Uint8Array.fromBase64(header.epk.y, { alphabet: "base64url" });
  y[31]! ^= 1;
  header.epk.y = y.toBase64({ alphabet: "base64url", omitPadding: true });
  const bad = {
    ...jwe,
    protected: new TextEncoder().encode(JSON.stringify(header)).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    }),
  };
  // First use goes through WebCrypto, later ones through node:crypto: both must refuse.
  for (let i = 0; i < 3; i++) {
    await assert.rejects(
      decryptResource(bad, pair.privateKey, pair.privateJwk),
      (e) => e instanceof JweError && e.code === "decrypt-failed",
    );
  }
  assert.deepEqual(await decryptResource(jwe, pair.privateKey, pair.privateJwk), secret);
});

if (cryptoBackend() !== "libcrypto") {
  console.log("SKIPPED libcrypto/portable JWE interop: libcrypto.so.3 cannot be loaded here");
}
Deno.test({
  name: "encryptResource() and decryptResource() interoperate across libcrypto and portable P-256",
  ignore: cryptoBackend() !== "libcrypto",
  async fn() {
    try {
      for (
        const [encNative, decNative] of [[true, false], [false, true], [false, false]] as const
      ) {
        const pair = await generateTeeKeyPair();
        for (let use = 0; use < 2; use++) {
          useLibcrypto(encNative);
          const jwe = await encryptResource(pair.publicJwk, secret);
          useLibcrypto(decNative);
          assert.deepEqual(await decryptResource(jwe, pair.privateKey, pair.privateJwk), secret);
          const key = await jose.importJWK({ ...pair.privateJwk, alg: "ECDH-ES+A256KW" });
          assert.deepEqual((await jose.flattenedDecrypt(jwe, key)).plaintext, secret);
        }
      }
    } finally {
      useLibcrypto(true);
    }
  },
});
