/**
 * The PCK certificate chain carried in a quote and the Intel SGX extension of its leaf
 * (OID 1.2.840.113741.1.13.1: PPID, TCB components, PCESVN, CPUSVN, PCE-ID, FMSPC, SGX type,
 * platform instance id and configuration), spec/evidence.md §4.5.
 */
import * as asn1js from "asn1js";
import { VerifierError } from "../types.ts";
import { commonName, parsePemChain, rawPublicKey, type x509 } from "./_x509.ts";
import { INTEL_SGX_ROOT_KEY_HEX } from "./intel_root.ts";

const SGX_EXT = "1.2.840.113741.1.13.1";

/** The PCK chain: leaf, intermediate (Platform or Processor CA), root. */
export interface PckChain {
  leaf: x509.X509Certificate;
  intermediate: x509.X509Certificate;
  root: x509.X509Certificate;
  ca: "platform" | "processor";
}

/** Platform data from the PCK leaf's SGX extension. */
export interface PckInfo {
  ppid: Uint8Array;
  /** SGX TCB component SVNs 1–16. */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  pceId: Uint8Array;
  fmspc: Uint8Array;
  /** 0 Standard, 1 Scalable, 2 Scalable with Integrity. */
  sgxType: number;
  platformInstanceId?: Uint8Array;
  configuration?: { dynamicPlatform?: boolean; cachedKeys?: boolean; smtEnabled?: boolean };
}

function fail(msg: string, cause?: unknown): never {
  throw new VerifierError(
    "bad-certificate-chain",
    `Cannot verify TDX evidence: ${msg}`,
    cause ? { cause } : undefined,
  );
}

/**
 * Parses the quote's PEM chain: exactly 3 certificates with the Intel CNs, and a root whose key
 * is the pinned Intel SGX Root CA key.
 */
export async function parsePckChain(
  pem: string,
  rootKeyHex: string = INTEL_SGX_ROOT_KEY_HEX,
): Promise<PckChain> {
  const certs = parsePemChain(pem, "the PCK certificate chain");
  if (certs.length !== 3) {
    fail(`PCK certificate chain has ${certs.length} certificates, expected 3`);
  }
  const [leaf, intermediate, root] = certs as [
    x509.X509Certificate,
    x509.X509Certificate,
    x509.X509Certificate,
  ];
  if (!commonName(leaf).includes("SGX PCK Certificate")) {
    fail(`PCK leaf CN "${commonName(leaf)}" is not an SGX PCK Certificate`);
  }
  const icn = commonName(intermediate);
  const ca = icn === "Intel SGX PCK Platform CA"
    ? "platform"
    : icn === "Intel SGX PCK Processor CA"
    ? "processor"
    : fail(`PCK intermediate CN "${icn}" is neither the Platform nor the Processor CA`);
  if (!commonName(root).includes("SGX Root CA")) {
    fail(`PCK root CN "${commonName(root)}" is not the SGX Root CA`);
  }
  const key = (await rawPublicKey(root)).toHex();
  if (key !== rootKeyHex) {
    fail("PCK chain root key is not the pinned Intel SGX Root CA key");
  }
  return { leaf, intermediate, root, ca };
}

type Asn = asn1js.AsnType;

function pairs(seq: Asn, what: string): Map<string, Asn> {
  if (!(seq instanceof asn1js.Sequence)) fail(`SGX extension ${what} is not a SEQUENCE`);
  const out = new Map<string, Asn>();
  for (const item of seq.valueBlock.value) {
    if (!(item instanceof asn1js.Sequence) || item.valueBlock.value.length !== 2) {
      fail(`SGX extension ${what} has a malformed entry`);
    }
    const [oid, value] = item.valueBlock.value as [Asn, Asn];
    if (!(oid instanceof asn1js.ObjectIdentifier)) fail(`SGX extension ${what} entry lacks an OID`);
    out.set(oid.valueBlock.toString(), value);
  }
  return out;
}

function octets(v: Asn | undefined, what: string, len?: number): Uint8Array {
  if (!(v instanceof asn1js.OctetString)) {
    fail(`SGX extension ${what} is missing or not an OCTET STRING`);
  }
  const b = new Uint8Array(v.valueBlock.valueHexView);
  if (len !== undefined && b.length !== len) {
    fail(`SGX extension ${what} has ${b.length} bytes, expected ${len}`);
  }
  return b;
}

function integer(v: Asn | undefined, what: string): number {
  if (v instanceof asn1js.Integer || v instanceof asn1js.Enumerated) return v.valueBlock.valueDec;
  fail(`SGX extension ${what} is missing or not an INTEGER`);
}

function boolean(v: Asn | undefined): boolean | undefined {
  return v instanceof asn1js.Boolean ? v.valueBlock.value : undefined;
}

/** Parses the SGX extension of a PCK leaf certificate. */
export function parsePckInfo(leaf: x509.X509Certificate, ca: PckChain["ca"]): PckInfo {
  const ext = leaf.getExtension(SGX_EXT);
  if (!ext) fail("PCK leaf has no SGX extension (1.2.840.113741.1.13.1)");
  const parsed = asn1js.fromBER(ext.value);
  if (parsed.offset === -1) fail("PCK leaf SGX extension is not valid DER");
  const top = pairs(parsed.result, "root");
  const p = `${SGX_EXT}.`;
  const tcb = pairs(top.get(`${p}2`) ?? fail("SGX extension lacks TCB"), "TCB");
  const tcbComponents = Array.from(
    { length: 16 },
    (_, i) => integer(tcb.get(`${p}2.${i + 1}`), `TCB component ${i + 1}`),
  );
  const info: PckInfo = {
    ppid: octets(top.get(`${p}1`), "PPID", 16),
    tcbComponents,
    pceSvn: integer(tcb.get(`${p}2.17`), "PCESVN"),
    cpuSvn: octets(tcb.get(`${p}2.18`), "CPUSVN", 16),
    pceId: octets(top.get(`${p}3`), "PCE-ID", 2),
    fmspc: octets(top.get(`${p}4`), "FMSPC", 6),
    sgxType: integer(top.get(`${p}5`), "SGX type"),
  };
  const pii = top.get(`${p}6`);
  const conf = top.get(`${p}7`);
  if (ca === "platform") {
    if (!pii || !conf) fail("Platform-CA PCK lacks PlatformInstanceID or Configuration");
    info.platformInstanceId = octets(pii, "PlatformInstanceID", 16);
    const c = pairs(conf, "Configuration");
    info.configuration = {};
    const dyn = boolean(c.get(`${p}7.1`));
    const cached = boolean(c.get(`${p}7.2`));
    const smt = boolean(c.get(`${p}7.3`));
    if (dyn !== undefined) info.configuration.dynamicPlatform = dyn;
    if (cached !== undefined) info.configuration.cachedKeys = cached;
    if (smt !== undefined) info.configuration.smtEnabled = smt;
  } else if (pii || conf) {
    fail("Processor-CA PCK must not carry PlatformInstanceID or Configuration");
  }
  return info;
}
