import assert from "node:assert/strict";
import { CborTag, type CborValue, encodeCbor } from "./cbor.ts";
import { CoseError, parseCoseSign1, signCoseSign1, verifyCoseSign1 } from "./cose.ts";

async function keyPair(curve: "P-256" | "P-384") {
  return await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, false, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
}

function coseError(code: string, message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof CoseError);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  };
}

Deno.test("signCoseSign1() output verifies, and fails with another key or payload", async () => {
  const k = await keyPair("P-384");
  const payload = new TextEncoder().encode("claims");
  const msg = parseCoseSign1(await signCoseSign1(payload, k.privateKey, -35), "token");
  assert.equal(msg.alg, -35);
  assert.equal(msg.protectedBytes.toHex(), "a1013822");
  await verifyCoseSign1(msg, k.publicKey, "token");
  const other = await keyPair("P-384");
  await assert.rejects(
    verifyCoseSign1(msg, other.publicKey, "token"),
    coseError("bad-signature", /^token signature does not verify$/),
  );
  const forged = { ...msg, payload: new TextEncoder().encode("claimz") };
  await assert.rejects(
    verifyCoseSign1(forged, k.publicKey, "token"),
    coseError("bad-signature", /does not verify/),
  );
  const short = { ...msg, signature: msg.signature.subarray(1) };
  await assert.rejects(
    verifyCoseSign1(short, k.publicKey, "token"),
    coseError("bad-signature", /ES384 signature is 95 bytes, expected 96/),
  );
});

Deno.test("verifyCoseSign1() refuses a key on the wrong curve for the algorithm", async () => {
  const k = await keyPair("P-256");
  const msg = parseCoseSign1(await signCoseSign1(new Uint8Array(1), k.privateKey, -7), "t");
  await verifyCoseSign1(msg, k.publicKey, "t");
  const p384 = await keyPair("P-384");
  await assert.rejects(
    verifyCoseSign1(msg, p384.publicKey, "t"),
    coseError("bad-key", /t is signed with ES256 but the key is ECDSA P-384/),
  );
});

Deno.test("parseCoseSign1() rejects malformed envelopes and unprotected or unknown algorithms", () => {
  const sig = new Uint8Array(96);
  const one = new Uint8Array(1);
  const cases: [unknown[] | CborTag, string, RegExp][] = [
    [new CborTag(17, [one, new Map(), one, sig]), "malformed", /tag 17, expected COSE_Sign1/],
    [[one, new Map(), one], "malformed", /not a COSE_Sign1 array of 4/],
    [[one, new Map(), null, sig], "malformed", /detached payloads unsupported/],
    [[encodeCbor([1]), new Map(), one, sig], "malformed", /protected header is not a map/],
    [[new Uint8Array(0), new Map([[1, -35]]), one, sig], "unsupported-alg", /only unprotected/],
    [[encodeCbor(new Map([[1, -36]])), new Map(), one, sig], "unsupported-alg", /algorithm -36/],
    [
      [encodeCbor(new Map<number, CborValue>([[1, -35], [2, [99]]])), new Map(), one, sig],
      "unsupported-alg",
      /crit/,
    ],
  ];
  for (const [v, code, message] of cases) {
    assert.throws(
      () => parseCoseSign1(encodeCbor(v as CborTag), "token"),
      coseError(code, message),
    );
  }
  assert.throws(
    () => parseCoseSign1(Uint8Array.of(0xd2, 0x84), "token"),
    coseError("malformed", /not valid CBOR/),
  );
});
