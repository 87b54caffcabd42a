import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { p256 } from "@noble/curves/nist.js";
import { libcrypto, LibcryptoError } from "./_libcrypto.ts";

const lib = libcrypto();
const ignore = lib === undefined;
if (ignore) {
  console.log(
    "SKIPPED libcrypto P-256 tests: libcrypto.so.3 cannot be loaded here (portable path)",
  );
}

async function webKey() {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const d = (await crypto.subtle.exportKey("jwk", pair.privateKey)).d!;
  return { pair, raw, d: Uint8Array.fromBase64(d, { alphabet: "base64url" }) };
}

Deno.test({
  name: "libcrypto ephemeralEcdh() and privateKey().ecdh() agree with WebCrypto",
  ignore,
  async fn() {
    const peer = await webKey();
    const { publicPoint, secret } = lib!.ephemeralEcdh(peer.raw);
    const eph = await crypto.subtle.importKey(
      "raw",
      publicPoint as Uint8Array<ArrayBuffer>,
      { name: "ECDH", namedCurve: "P-256" },
      false,
      [],
    );
    const ref = await crypto.subtle.deriveBits(
      { name: "ECDH", public: eph },
      peer.pair.privateKey,
      256,
    );
    assert.deepEqual(secret, new Uint8Array(ref));
    const key = lib!.privateKey(peer.d);
    try {
      assert.deepEqual(key.ecdh(publicPoint), secret);
    } finally {
      key.free();
    }
  },
});

Deno.test({
  name: "libcrypto signDigest() makes low-S ES256 signatures that WebCrypto and noble verify",
  ignore,
  async fn() {
    const k = await webKey();
    const key = lib!.privateKey(k.d);
    const pub = await crypto.subtle.importKey(
      "raw",
      k.raw,
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    try {
      for (let i = 0; i < 24; i++) {
        const msg = new TextEncoder().encode(`token ${i}`);
        const sig = key.signDigest(createHash("sha256").update(msg).digest());
        assert.equal(sig.length, 64);
        assert.ok(p256.verify(sig, msg, k.raw), "noble (low-S only) verifies");
        assert.ok(
          await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, sig as never, msg),
        );
      }
    } finally {
      key.free();
    }
  },
});

Deno.test({
  name: "libcrypto refuses points off the curve, bad sizes and freed keys",
  ignore,
  async fn() {
    const k = await webKey();
    const bad = k.raw.slice();
    bad[64]! ^= 1;
    const isErr = (re: RegExp) => (e: unknown) => e instanceof LibcryptoError && re.test(e.message);
    assert.throws(() => lib!.ephemeralEcdh(bad), isErr(/point is not on curve/));
    assert.throws(() => lib!.ephemeralEcdh(k.raw.subarray(0, 33)), isErr(/not an uncompressed/));
    const key = lib!.privateKey(k.d);
    assert.throws(() => key.ecdh(bad), isErr(/point is not on curve/));
    assert.throws(() => key.signDigest(new Uint8Array(20)), isErr(/32-byte digest/));
    key.free();
    assert.throws(() => key.ecdh(k.raw), isErr(/freed/));
    assert.throws(() => lib!.privateKey(new Uint8Array(31)), isErr(/32 bytes/));
  },
});

Deno.test({
  name: "libcrypto publicKey().verifyDigest() agrees with WebCrypto ES256 and refuses tampering",
  ignore,
  async fn() {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ]);
    const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    const msg = new TextEncoder().encode("header.payload");
    const sig = new Uint8Array(
      await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, msg),
    );
    const digest = createHash("sha256").update(msg).digest();
    const key = lib!.publicKey(raw);
    try {
      assert.equal(key.verifyDigest(digest, sig), true);
      const bad = sig.slice();
      bad[10]! ^= 1;
      assert.equal(key.verifyDigest(digest, bad), false);
      const other = createHash("sha256").update("header.payloaD").digest();
      assert.equal(key.verifyDigest(other, sig), false);
      assert.equal(key.verifyDigest(digest, new Uint8Array(64)), false, "r = s = 0");
      assert.equal(key.verifyDigest(digest, sig.subarray(0, 63)), false, "short signature");
      const n = Uint8Array.fromHex(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
      );
      const big = sig.slice();
      big.set(n, 0); // r = n is out of range
      assert.equal(key.verifyDigest(digest, big), false);
    } finally {
      key.free();
    }
    const offCurve = raw.slice();
    offCurve[64]! ^= 1;
    assert.throws(() => lib!.publicKey(offCurve), LibcryptoError);
  },
});
