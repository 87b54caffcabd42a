import assert from "node:assert/strict";
import { canonicalize, CanonicalJsonError } from "./mod.ts";

Deno.test("canonicalize() sorts keys by UTF-16 code units and drops whitespace", () => {
  assert.equal(
    canonicalize({ b: 1, a: "test", c: { d: "e" } }),
    '{"a":"test","b":1,"c":{"d":"e"}}',
  );
  // RFC 8785 §3.2.3 example ordering: "\u20ac" < "\r" ... sorted by code unit
  const keys = { "\u20ac": 1, "\r": 2, "\ud83d\ude00": 3, "1": 4, "\u0080": 5, "\u00f6": 6 };
  assert.equal(
    canonicalize(keys),
    '{"\\r":2,"1":4,"\u0080":5,"\u00f6":6,"\u20ac":1,"\ud83d\ude00":3}',
  );
});

Deno.test("canonicalize() formats numbers as ECMAScript does (RFC 8785 §3.2.2.3)", () => {
  const cases: Array<[number, string]> = [
    [0, "0"],
    [-0, "0"],
    [1e21, "1e+21"],
    [1e-7, "1e-7"],
    [333333333.3333333, "333333333.3333333"],
    [9007199254740991, "9007199254740991"],
    [5e-324, "5e-324"],
  ];
  for (const [n, want] of cases) assert.equal(canonicalize(n), want);
});

Deno.test("canonicalize() escapes control characters and keeps non-ASCII literal", () => {
  assert.equal(canonicalize('\u0001\n"\\é'), '"\\u0001\\n\\"\\\\é"');
});

Deno.test("canonicalize() rejects NaN, Infinity and lone surrogates", () => {
  assert.throws(() => canonicalize(NaN), CanonicalJsonError);
  assert.throws(() => canonicalize({ a: Infinity }), CanonicalJsonError);
  assert.throws(() => canonicalize("\ud800"), /lone surrogate/);
});

Deno.test("canonicalize() matches the SHA-384 test vector of spec/trustee.md §1.6", async () => {
  const text = canonicalize({ b: 1, a: "test", c: { d: "e" } });
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-384", new TextEncoder().encode(text)),
  );
  assert.equal(
    digest.toHex(),
    "e71ce8e70d814ba6639c3612ebee0ff1f76f650f8dbb5e47157e0f3f525cd22c4597480a186427c813ca941da78870c3",
  );
});
