/**
 * DCAP verification of a TDX quote, re-implementing what Trustee delegates to Intel's QVL
 * (spec/evidence.md §4.7): PCK chain to the pinned Intel root, certificate validity at
 * `options.now`, CRLs, QE report signature and its binding of the attestation key, the quote
 * signature, then — when collateral is available — the collateral's chains and signatures, its
 * match with the quote, and the TCB evaluation. Each failing check throws a VerifierError whose
 * code and message name it.
 */
import { ab, bytesEqual, concat } from "@coco/lib/bytes";
import { INTEL_QE_VENDOR_ID, parseTdxQuote, type TdxQuote, TdxQuoteError } from "@coco/lib/tee/tdx";
import { VerifierError, type VerifierOptions } from "../types.ts";
import {
  checkCrlIssuedBy,
  checkIssuedBy,
  checkNotRevoked,
  checkValidity,
  commonName,
  crlNumber,
  rawPublicKey,
  type x509,
} from "./_x509.ts";
import { checkCollateralSignature } from "./collateral.ts";
import {
  CachedCollateralSource,
  type CollateralBundle,
  type CollateralSource,
  DirCollateralSource,
  PccsCollateralSource,
} from "./collateral_source.ts";
import type { JsonValue } from "@coco/lib/json";
import { dcapClaims, type DcapFacts, quoteClaims } from "./claims.ts";
import { parsePckChain, parsePckInfo, type PckChain, type PckInfo } from "./pck.ts";
import { evaluateTcb, matchCollateral } from "./tcb.ts";
import { INTEL_SGX_ROOT_KEY_HEX } from "./intel_root.ts";

/** The pinned root: Intel's in production; tests pass the key of their own test PKI. */
export interface TdxTrust {
  /** Uncompressed P-256 public key (hex) the PCK chain root must carry. */
  rootKeyHex: string;
}

/** Trust in the Intel SGX Root CA. */
export const INTEL_TRUST: TdxTrust = { rootKeyHex: INTEL_SGX_ROOT_KEY_HEX };

/** Everything the verification established about a quote. */
export interface VerifiedTdxQuote {
  quote: TdxQuote;
  pck: PckInfo;
  /** DCAP claims (§4.8), present when collateral was available. */
  dcap?: DcapFacts;
}

const sources = new WeakMap<VerifierOptions, CollateralSource | null>();

/** The (cached) collateral source configured by `options`, or null when none is. */
export function collateralSource(options: VerifierOptions): CollateralSource | null {
  let s = sources.get(options);
  if (s === undefined) {
    const now = options.now ?? (() => new Date());
    const inner = options.collateralDir
      ? new DirCollateralSource(options.collateralDir)
      : options.pccsUrl
      ? new PccsCollateralSource(options.pccsUrl, options.fetch ?? fetch)
      : undefined;
    s = inner ? new CachedCollateralSource(inner, now) : null;
    sources.set(options, s);
  }
  return s;
}

async function ecdsaP256Verify(
  key: CryptoKey,
  sig: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  try {
    return await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, ab(sig), ab(data));
  } catch {
    return false;
  }
}

function badSig(msg: string): never {
  throw new VerifierError("bad-signature", `Cannot verify TDX evidence: ${msg}`);
}

async function checkQuoteSignatures(q: TdxQuote, chain: PckChain): Promise<void> {
  const s = q.signature;
  const pckKey = await chain.leaf.publicKey.export(
    { name: "ECDSA", namedCurve: "P-256" },
    ["verify"],
    crypto,
  );
  if (!await ecdsaP256Verify(pckKey, s.qeReportSignature, s.qeReport.raw)) {
    badSig("QE report signature does not verify with the PCK certificate key");
  }
  const expected = new Uint8Array(
    await crypto.subtle.digest("SHA-256", concat(s.attestationKey, s.qeAuthData)),
  );
  const rd = s.qeReport.reportData;
  if (!bytesEqual(rd.subarray(0, 32), expected) || rd.subarray(32).some((b) => b !== 0)) {
    badSig("QE report data is not SHA-256(attestation key ‖ QE authentication data)");
  }
  let akey: CryptoKey;
  try {
    akey = await crypto.subtle.importKey(
      "raw",
      concat(new Uint8Array([4]), s.attestationKey),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
  } catch (err) {
    throw new VerifierError(
      "bad-signature",
      "Cannot verify TDX evidence: the attestation key is not a P-256 point",
      { cause: err },
    );
  }
  if (!await ecdsaP256Verify(akey, s.quoteSignature, q.signedRegion)) {
    badSig("quote signature does not verify with the attestation key");
  }
}

async function checkSigningChain(
  certs: x509.X509Certificate[],
  root: x509.X509Certificate,
  rootCrl: x509.X509Crl | undefined,
  now: Date,
  what: string,
): Promise<x509.X509Certificate> {
  if (certs.length !== 2) {
    throw new VerifierError(
      "bad-certificate-chain",
      `Cannot verify TDX evidence: ${what} has ${certs.length} certificates, expected 2`,
    );
  }
  const [signer, chainRoot] = certs as [x509.X509Certificate, x509.X509Certificate];
  if (!bytesEqual(new Uint8Array(chainRoot.rawData), new Uint8Array(root.rawData))) {
    throw new VerifierError(
      "bad-certificate-chain",
      `Cannot verify TDX evidence: ${what} does not end in the Intel SGX Root CA`,
    );
  }
  if (!commonName(signer).includes("SGX TCB Signing")) {
    throw new VerifierError(
      "bad-certificate-chain",
      `Cannot verify TDX evidence: ${what} signer CN "${
        commonName(signer)
      }" is not the TCB Signing cert`,
    );
  }
  await checkIssuedBy(signer, root, `${what} TCB signing certificate`);
  if (rootCrl) checkNotRevoked(rootCrl, signer, `${what} TCB signing certificate`);
  checkValidity(signer, now, `${what} TCB signing certificate`);
  return signer;
}

async function checkCollateral(
  q: TdxQuote,
  chain: PckChain,
  pck: PckInfo,
  c: CollateralBundle,
  now: Date,
): Promise<DcapFacts> {
  if (c.rootCrl) {
    await checkCrlIssuedBy(c.rootCrl, chain.root, "the Intel SGX Root CA CRL");
    checkNotRevoked(c.rootCrl, chain.intermediate, "the PCK intermediate CA");
  }
  if (c.pckCrl) {
    await checkCrlIssuedBy(c.pckCrl, chain.intermediate, `the PCK ${chain.ca} CA CRL`);
    checkNotRevoked(c.pckCrl, chain.leaf, "the PCK certificate");
  }
  const tcbSigner = await checkSigningChain(
    c.tcbInfoChain,
    chain.root,
    c.rootCrl,
    now,
    "TCB info issuer chain",
  );
  await checkCollateralSignature(c.tcbInfo, tcbSigner, "TCB info");
  const qeSigner = await checkSigningChain(
    c.qeIdentityChain,
    chain.root,
    c.rootCrl,
    now,
    "QE identity issuer chain",
  );
  await checkCollateralSignature(c.qeIdentity, qeSigner, "QE identity");
  const info = c.tcbInfo.body;
  const qeId = c.qeIdentity.body;
  matchCollateral(q.body, q.signature.qeReport, pck, info, qeId);
  const tcb = evaluateTcb(q.body, q.signature.qeReport, pck, info, qeId);
  const certs = [
    chain.leaf,
    chain.intermediate,
    chain.root,
    ...c.tcbInfoChain,
    ...c.qeIdentityChain,
  ];
  const issueDates = [...certs.map((x) => x.notBefore), info.issueDate, qeId.issueDate];
  const expirationDates = [...certs.map((x) => x.notAfter), info.nextUpdate, qeId.nextUpdate];
  for (const crl of [c.rootCrl, c.pckCrl]) {
    if (!crl) continue;
    issueDates.push(crl.thisUpdate);
    if (crl.nextUpdate) expirationDates.push(crl.nextUpdate);
  }
  const rootKey = await rawPublicKey(chain.root);
  const facts: DcapFacts = {
    issueDates,
    expirationDates,
    tcbEvalNum: Math.min(info.tcbEvaluationDataNumber, qeId.tcbEvaluationDataNumber),
    rootKeyId: new Uint8Array(await crypto.subtle.digest("SHA-384", ab(rootKey))).toHex(),
    tcbStatus: tcb.launch.status,
    tcbDate: tcb.launch.date,
    advisoryIds: tcb.launch.advisoryIds,
    collateralExpired:
      Math.min(info.nextUpdate.getTime(), qeId.nextUpdate.getTime()) <= now.getTime(),
  };
  const pckNum = c.pckCrl && crlNumber(c.pckCrl);
  const rootNum = c.rootCrl && crlNumber(c.rootCrl);
  if (pckNum !== undefined) facts.pckCrlNum = pckNum;
  if (rootNum !== undefined) facts.rootCaCrlNum = rootNum;
  if (tcb.current) facts.current = tcb.current;
  return facts;
}

/** Verifies a quote and returns what was established (no report-data binding). */
export async function verifyTdxQuoteDetailed(
  bytes: Uint8Array,
  options: VerifierOptions,
  trust: TdxTrust = INTEL_TRUST,
): Promise<VerifiedTdxQuote> {
  const now = options.now?.() ?? new Date();
  let quote: TdxQuote;
  try {
    quote = parseTdxQuote(bytes);
  } catch (err) {
    if (!(err instanceof TdxQuoteError)) throw err;
    throw new VerifierError("bad-evidence", `Cannot verify TDX evidence: ${err.message}`, {
      cause: err,
    });
  }
  if (quote.header.vendorId.toHex() !== INTEL_QE_VENDOR_ID) {
    throw new VerifierError(
      "bad-evidence",
      "Cannot verify TDX evidence: QE vendor id is not Intel's",
    );
  }
  const chain = await parsePckChain(quote.signature.pckChainPem, trust.rootKeyHex);
  await checkIssuedBy(chain.root, chain.root, "the Intel SGX Root CA");
  await checkIssuedBy(chain.intermediate, chain.root, `the PCK ${chain.ca} CA certificate`);
  await checkIssuedBy(chain.leaf, chain.intermediate, "the PCK certificate");
  const pck = parsePckInfo(chain.leaf, chain.ca);
  checkValidity(chain.root, now, "the Intel SGX Root CA");
  checkValidity(chain.intermediate, now, `the PCK ${chain.ca} CA certificate`);
  checkValidity(chain.leaf, now, "the PCK certificate");
  await checkQuoteSignatures(quote, chain);
  const source = collateralSource(options);
  if (!source) return { quote, pck };
  const bundle = await source.get(pck.fmspc.toHex(), chain.ca);
  return { quote, pck, dcap: await checkCollateral(quote, chain, pck, bundle, now) };
}

/**
 * Verifies a TDX quote: signature, QE report, PCK chain, and collateral when `options` names a
 * source (`collateralDir` or `pccsUrl`). No report-data binding. Claims are the collateral-free
 * `tdx` claims plus, with collateral, the DCAP claims.
 */
export async function verifyTdxQuote(
  quote: Uint8Array,
  options: VerifierOptions,
): Promise<{ quote: TdxQuote; claims: Record<string, JsonValue> }> {
  const v = await verifyTdxQuoteDetailed(quote, options);
  return { quote: v.quote, claims: withDcap(quoteClaims(v.quote, v.pck), v) };
}

/**
 * `DCAP_COLLATERAL` claim value when no collateral source is configured: the TCB level, QE
 * identity and CRLs were not evaluated, so the DCAP claims (`tcb_status`, …) are absent.
 */
export const NO_COLLATERAL = "not-configured";

/**
 * Adds the DCAP claims, or `dcap_collateral: "not-configured"` so that a policy (and a reader of
 * the token) can see that the TCB was not evaluated instead of a silent skip.
 */
export function withDcap(
  claims: Record<string, JsonValue>,
  v: { dcap?: DcapFacts | undefined; pck: Parameters<typeof dcapClaims>[1] },
): Record<string, JsonValue> {
  return v.dcap
    ? { ...claims, ...dcapClaims(v.dcap, v.pck) }
    : { ...claims, dcap_collateral: NO_COLLATERAL };
}
