/**
 * CCA verifier benchmark: full local `evaluate` of an Arm CCA token (CBOR decode, CPAK lookup,
 * platform and realm COSE ES384 signatures, RAK binding, challenge, claims). Tokens are minted
 * with the upstream test keys (the real upstream example token is binary and not available) plus
 * the real rust-ccatoken vector; the CPAK import is memoized (warm cache).
 */
import { type BenchRow, measure } from "./_lib.ts";
import {
  ccaEvidence,
  CcaVerifier,
  decodeCcaToken,
  parseTrustAnchorStore,
} from "../trustee/verifier/cca/mod.ts";
import { mintCcaToken, mintKeys } from "../trustee/verifier/cca/_mint.ts";
import {
  readTestdata,
  TESTDATA,
  TOKEN_01_CHALLENGE,
  tokenFromDiag,
} from "../trustee/verifier/cca/_testdata.ts";

/** Runs the CCA verifier benchmarks. */
export async function bench(): Promise<BenchRow[]> {
  const challenge = new Uint8Array(64).fill(0x5a);
  const token = await mintCcaToken(await mintKeys(), { realmChallenge: challenge });
  const evidence = ccaEvidence(token);
  const trustAnchors = parseTrustAnchorStore(await readTestdata("tastore.json"));
  const inMemory = new CcaVerifier({ trustAnchors });
  const fromFiles = new CcaVerifier({ collateralDir: TESTDATA.pathname });
  const real = ccaEvidence(await tokenFromDiag("cca-token-01.diag"));
  return [
    await measure(
      "cca verify (minted token, in-memory TA store)",
      () => inMemory.evaluate({ evidence, reportData: challenge }),
      1000,
      "2× ES384 verify + RAK import + binding + claims",
    ),
    await measure(
      "cca verify (minted token, tastore/rvstore files)",
      () => fromFiles.evaluate({ evidence, reportData: challenge }),
      1000,
      "as above + reading and parsing both stores per call (as upstream)",
    ),
    await measure(
      "cca verify (rust-ccatoken cca-token-01)",
      () => inMemory.evaluate({ evidence: real, reportData: TOKEN_01_CHALLENGE }),
      1000,
      "real token, legacy profile",
    ),
    await measure("cca token decode only", () => decodeCcaToken(token), 5000, "CBOR + COSE parse"),
  ];
}

if (import.meta.main) console.table(await bench());
