import assert from "node:assert/strict";
import { aesKeyUnwrap, aesKeyWrap } from "./_aes_kw.ts";

const hex = (s: string) => Uint8Array.fromHex(s);

// RFC 3394 §4.3 (256-bit key data, 192-bit KEK) and §4.6 (256-bit key data, 256-bit KEK).
const VECTORS = [
  {
    name: "§4.6 256-bit KEK",
    kek: "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
    key: "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
    wrapped: "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21",
  },
  {
    name: "§4.3 192-bit KEK",
    kek: "000102030405060708090A0B0C0D0E0F1011121314151617",
    key: "00112233445566778899AABBCCDDEEFF0001020304050607",
    wrapped: "031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2",
  },
  {
    name: "§4.1 128-bit KEK",
    kek: "000102030405060708090A0B0C0D0E0F",
    key: "00112233445566778899AABBCCDDEEFF",
    wrapped: "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5",
  },
];

for (const v of VECTORS) {
  Deno.test(`aesKeyWrap() and aesKeyUnwrap() match RFC 3394 ${v.name}`, () => {
    const wrapped = aesKeyWrap(hex(v.kek), hex(v.key));
    assert.equal(wrapped.toHex(), v.wrapped.toLowerCase());
    assert.equal(aesKeyUnwrap(hex(v.kek), wrapped).toHex(), v.key.toLowerCase());
  });
}

Deno.test("aesKeyWrap() agrees with WebCrypto AES-KW for random keys", async () => {
  for (let i = 0; i < 8; i++) {
    const kek = crypto.getRandomValues(new Uint8Array(32));
    const key = crypto.getRandomValues(new Uint8Array(32));
    const ref = await crypto.subtle.wrapKey(
      "raw",
      await crypto.subtle.importKey("raw", key, "AES-GCM", true, ["encrypt"]),
      await crypto.subtle.importKey("raw", kek, "AES-KW", false, ["wrapKey"]),
      "AES-KW",
    );
    assert.deepEqual(aesKeyWrap(kek, key), new Uint8Array(ref));
  }
});

Deno.test("aesKeyUnwrap() refuses a wrong KEK, tampered input and bad lengths", () => {
  const kek = crypto.getRandomValues(new Uint8Array(32));
  const wrapped = aesKeyWrap(kek, new Uint8Array(32).fill(7));
  assert.throws(
    () => aesKeyUnwrap(new Uint8Array(32), wrapped),
    (e) => e instanceof RangeError && /integrity check failed/.test(e.message),
  );
  const tampered = wrapped.slice();
  tampered[20]! ^= 1;
  assert.throws(() => aesKeyUnwrap(kek, tampered), /integrity check failed/);
  assert.throws(() => aesKeyUnwrap(kek, wrapped.subarray(0, 36)), /multiple of 8 bytes/);
  assert.throws(() => aesKeyUnwrap(new Uint8Array(20), wrapped), /KEK must be 16, 24 or 32/);
  assert.throws(() => aesKeyWrap(kek, new Uint8Array(12)), /multiple of 8 bytes/);
});
