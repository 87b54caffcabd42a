import assert from "node:assert/strict";
import { canonicalize } from "../json/mod.ts";
import {
  deviceRuntimeData,
  hashCanonical,
  padTo,
  primaryRuntimeData,
  selectedHashAlgorithm,
} from "./runtime_data.ts";
import type { TeePubKey } from "./types.ts";

// Test vectors from spec/trustee.md §1.6.
const NONCE = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY: TeePubKey = {
  kty: "EC",
  crv: "P-256",
  alg: "ECDH-ES+A256KW",
  x: "WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis",
  y: "y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE",
};

Deno.test("primaryRuntimeData() canonicalizes to the spec's string with additional-evidence", () => {
  assert.equal(
    canonicalize(primaryRuntimeData(NONCE, KEY, "")),
    '{"additional-evidence":"","nonce":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC","x":"WKn-ZIGevcwGIyyrzFoZNBdaq9_TsqzGl96oc0CWuis","y":"y77t-RvAHRKTsSGdIYUfweuOvwrvDD-Q3Hv5J0fSKbE"}}',
  );
});

Deno.test("hashCanonical() gives the spec's SHA-384 for primary and device runtime data", () => {
  const primary = hashCanonical("sha384", primaryRuntimeData(NONCE, KEY, ""));
  assert.equal(
    primary.toHex(),
    "7e3c430d1b20027dfa91ba1dd104beca19d90df8d91b7fb9511a6854d70541021962a1b216b184b0b17813eba377f204",
  );
  assert.equal(
    primary.toBase64(),
    "fjxDDRsgAn36kbod0QS+yhnZDfjZG3+5URpoVNcFQQIZYqGyFrGEsLF4E+ujd/IE",
  );
  assert.equal(
    hashCanonical("sha384", deviceRuntimeData(NONCE, KEY)).toHex(),
    "41ffe199be4ee3b264c0c0760d296f85c8a05f5ad1cdcf7e0a102cd583d75feeb34773e0dd84d3d5cc84a3dbdbf609cc",
  );
});

Deno.test("selectedHashAlgorithm() defaults to sha384 and honours a selection", () => {
  assert.equal(selectedHashAlgorithm(""), "sha384");
  assert.equal(selectedHashAlgorithm({}), "sha384");
  assert.equal(selectedHashAlgorithm({ "selected-hash-algorithm": "SHA512" }), "sha512");
  assert.throws(() => selectedHashAlgorithm({ "selected-hash-algorithm": "md5" }), /unsupported/);
  assert.throws(() => selectedHashAlgorithm({ "selected-hash-algorithm": 3 }), /unsupported/);
});

Deno.test("hashCanonical() supports sm3 and sha256", () => {
  assert.equal(hashCanonical("sm3", {}).length, 32);
  assert.equal(hashCanonical("sha256", {}).length, 32);
});

Deno.test("padTo() zero-pads and truncates", () => {
  assert.deepEqual(padTo(new Uint8Array([1, 2]), 4), new Uint8Array([1, 2, 0, 0]));
  assert.deepEqual(padTo(new Uint8Array([1, 2, 3]), 2), new Uint8Array([1, 2]));
});
