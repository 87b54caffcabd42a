/**
 * Test/bench fixtures: the upstream test material in `testdata/` (see testdata/README.md) and the
 * two real CCA tokens from rust-ccatoken, rebuilt from their CBOR diagnostic notation (the signed
 * platform and realm byte strings are taken verbatim; only the unsigned outer collection is
 * re-encoded).
 *
 * @module
 */
import { CborTag, encodeCbor } from "./cbor.ts";
import { PLATFORM_LABEL, REALM_LABEL } from "./token.ts";

/** The testdata folder. */
export const TESTDATA = new URL("./testdata/", import.meta.url);

/** Reads a testdata file as text. */
export function readTestdata(name: string): Promise<string> {
  return Deno.readTextFile(new URL(name, TESTDATA));
}

/** Rebuilds a token from a diag file holding `399({44234: h'…', 44241: h'…'})`. */
export async function tokenFromDiag(name: string): Promise<Uint8Array> {
  const text = await readTestdata(name);
  const hex = [...text.matchAll(/(44234|44241): h'([0-9A-Fa-f]+)'/g)];
  const parts = new Map(hex.map((m) => [Number(m[1]), Uint8Array.fromHex(m[2]!.toLowerCase())]));
  const platform = parts.get(PLATFORM_LABEL);
  const realm = parts.get(REALM_LABEL);
  if (!platform || !realm) throw new Error(`${name} does not hold both CCA tokens`);
  return encodeCbor(
    new CborTag(399, new Map([[PLATFORM_LABEL, platform], [REALM_LABEL, realm]])),
  );
}

/** Realm challenge of cca-token-01 (64 × 0xab). */
export const TOKEN_01_CHALLENGE = new Uint8Array(64).fill(0xab);
/** Realm challenge of cca-token-02 ("AB" × 32). */
export const TOKEN_02_CHALLENGE = new TextEncoder().encode("AB".repeat(32));
