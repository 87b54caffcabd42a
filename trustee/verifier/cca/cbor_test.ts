import assert from "node:assert/strict";
import { CborError, CborTag, type CborValue, decodeCbor, encodeCbor } from "./cbor.ts";

const hex = (s: string) => Uint8Array.fromHex(s);

function rejects(bytes: Uint8Array, code: string, message: RegExp, limits = {}) {
  assert.throws(() => decodeCbor(bytes, limits), (err) => {
    assert.ok(err instanceof CborError);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("encodeCbor() uses the shortest forms and sorts map keys by encoding", () => {
  const cases: [CborValue, string][] = [
    [0, "00"],
    [23, "17"],
    [24, "1818"],
    [-35, "3822"],
    [44234, "19acca"],
    [2 ** 32, "1b0000000100000000"],
    [-(2n ** 64n), "3bffffffffffffffff"],
    ["Signature1", "6a5369676e617475726531"],
    [new Uint8Array([1, 2]), "420102"],
    [[true, false, null], "83f5f4f6"],
    [
      new Map<number | string, CborValue>([[10, 1], [-1, 2], [1, 3], ["a", 4]]),
      "a401030a0120026161" + "04",
    ],
    [new CborTag(399, new Map()), "d9018fa0"],
  ];
  for (const [v, want] of cases) assert.equal(encodeCbor(v).toHex(), want, String(v));
});

Deno.test("decodeCbor() round-trips what encodeCbor() produces", () => {
  const v = new CborTag(18, [
    hex("a1013822"),
    new Map(),
    new Map<number, CborValue>([[10, hex("00ff")], [44239, [hex("01"), "x", -1, 2n ** 63n]]]),
    false,
  ]);
  const back = decodeCbor(encodeCbor(v));
  assert.deepEqual(back, v);
  assert.equal(decodeCbor(hex("3bffffffffffffffff")), -(2n ** 64n));
  assert.equal(decodeCbor(hex("f93c00")), 1);
  assert.equal(decodeCbor(hex("fa3fc00000")), 1.5);
});

Deno.test("decodeCbor() rejects truncated input, naming the offset", () => {
  rejects(hex("5820aabb"), "truncated", /byte string at offset 0 declares length 32 but only 2/);
  rejects(hex("19ac"), "truncated", /argument at offset 1 needs 2 bytes but only 1 remain/);
  rejects(hex("8201"), "truncated", /array at offset 0 declares length 2 but only 1 bytes remain/);
  rejects(hex("a10a"), "truncated", /item at offset 2 needs 1 bytes but only 0 remain/);
});

Deno.test("decodeCbor() rejects lengths larger than the input without allocating", () => {
  rejects(hex("5bffffffffffffffff"), "truncated", /declares length 18446744073709551615/);
  rejects(hex("9b00000000ffffffff00"), "truncated", /array at offset 0 declares length 4294967295/);
  rejects(hex("bb7fffffffffffffff"), "truncated", /map at offset 0 declares length/);
});

Deno.test("decodeCbor() limits nesting depth and input size", () => {
  rejects(new Uint8Array(100).fill(0x81), "limit", /nests deeper than 16 levels/);
  rejects(new Uint8Array([...new Uint8Array(3).fill(0x81), 0]), "limit", /deeper than 2/, {
    maxDepth: 2,
  });
  rejects(new Uint8Array(10), "limit", /10 bytes, more than 4/, { maxBytes: 4 });
});

Deno.test("decodeCbor() rejects malformed and unsupported items", () => {
  rejects(hex("0000"), "malformed", /1 trailing bytes/);
  rejects(hex("5f41aaff"), "unsupported", /indefinite-length items are not supported/);
  rejects(hex("1c"), "malformed", /reserved value/);
  rejects(hex("a20a000a01"), "malformed", /repeats key 10/);
  rejects(hex("a1410100"), "unsupported", /map key at offset 1 is not an integer or text/);
  rejects(hex("62c328"), "malformed", /text string at offset 0 is not UTF-8/);
  rejects(hex("f8ff"), "unsupported", /simple value 24/);
  rejects(hex("ff"), "malformed", /simple value 31/);
});
