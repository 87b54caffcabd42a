/**
 * Intel TDX quote parsing: the 48-byte header, v4 (TD 1.0 body) and v5 (body descriptor, TD 1.0
 * or TD 1.5 body) quotes, and the ECDSA signature data (quote signature, attestation key, QE
 * report certification data type 6 with the QE report, its signature, the QE authentication data
 * and the inner type-5 PCK certificate chain). Layouts: spec/evidence.md §4.2–§4.4.
 *
 * Parsing is structural only: no signature is checked here (see trustee/verifier/tdx).
 */
import { CodedError } from "../../errors.ts";

/** Why a quote could not be parsed. */
export type TdxQuoteErrorCode = "truncated" | "malformed" | "unsupported";

/** A quote is truncated, has inconsistent lengths, or uses a format we do not support. */
export class TdxQuoteError extends CodedError<TdxQuoteErrorCode> {}

/** `tee_type` of a TDX quote. */
export const TEE_TYPE_TDX = 0x81;
/** The Intel QE vendor id, `939a7233f79c4ca9940a0db3957f0607`. */
export const INTEL_QE_VENDOR_ID = "939a7233f79c4ca9940a0db3957f0607";
/** Size of the TD 1.0 report body. */
export const TD10_BODY_SIZE = 584;
/** Size of the TD 1.5 report body. */
export const TD15_BODY_SIZE = 648;
/** Size of an SGX report body (the QE report). */
export const SGX_REPORT_BODY_SIZE = 384;

/** The 48-byte quote header. */
export interface TdxQuoteHeader {
  version: number;
  attKeyType: number;
  teeType: number;
  reserved: Uint8Array;
  vendorId: Uint8Array;
  userData: Uint8Array;
  /** The 48 raw header bytes. */
  raw: Uint8Array;
}

/** A TD report body (TD 1.0, or TD 1.5 with the two extra fields). */
export interface TdReportBody {
  kind: "td10" | "td15";
  teeTcbSvn: Uint8Array;
  mrSeam: Uint8Array;
  mrSignerSeam: Uint8Array;
  seamAttributes: Uint8Array;
  tdAttributes: Uint8Array;
  xfam: Uint8Array;
  mrTd: Uint8Array;
  mrConfigId: Uint8Array;
  mrOwner: Uint8Array;
  mrOwnerConfig: Uint8Array;
  rtmrs: [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  reportData: Uint8Array;
  /** TD 1.5 only. */
  teeTcbSvn2?: Uint8Array;
  /** TD 1.5 only. */
  mrServiceTd?: Uint8Array;
  /** The raw body bytes. */
  raw: Uint8Array;
}

/** An SGX enclave report body (the Quoting Enclave's report). */
export interface SgxReportBody {
  cpuSvn: Uint8Array;
  miscSelect: number;
  attributes: Uint8Array;
  mrEnclave: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  reportData: Uint8Array;
  raw: Uint8Array;
}

/** ECDSA-256 quote signature data. */
export interface TdxSignatureData {
  /** r‖s, big-endian, 64 bytes. */
  quoteSignature: Uint8Array;
  /** Raw X‖Y of the P-256 attestation key (64 bytes). */
  attestationKey: Uint8Array;
  qeReport: SgxReportBody;
  /** r‖s by the PCK leaf over the QE report. */
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** Inner certification data type (5 = PCK chain). */
  certDataType: number;
  /** The concatenated PEM chain (leaf, intermediate, root). */
  pckChainPem: string;
}

/** A parsed TDX quote. */
export interface TdxQuote {
  header: TdxQuoteHeader;
  /** v5 only: the 6-byte body descriptor (`type` u16 LE, `size` u32 LE) as raw bytes. */
  bodyDescriptor?: { type: number; size: number; raw: Uint8Array };
  body: TdReportBody;
  /** Bytes covered by the quote signature (header ‖ [descriptor] ‖ body). */
  signedRegion: Uint8Array;
  signature: TdxSignatureData;
}

class Reader {
  private off = 0;
  constructor(private readonly b: Uint8Array, private readonly what: string) {}
  get offset(): number {
    return this.off;
  }
  take(n: number, field: string): Uint8Array {
    if (n < 0 || this.off + n > this.b.length) {
      throw new TdxQuoteError(
        "truncated",
        `Cannot parse ${this.what}: truncated at ${field} (needs ${n} bytes at offset ${this.off}, ${
          this.b.length - this.off
        } left)`,
      );
    }
    const out = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }
  u16(field: string): number {
    const b = this.take(2, field);
    return b[0]! | (b[1]! << 8);
  }
  u32(field: string): number {
    const b = this.take(4, field);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
}

function parseHeader(r: Reader): TdxQuoteHeader {
  const raw = r.take(48, "header");
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return {
    version: dv.getUint16(0, true),
    attKeyType: dv.getUint16(2, true),
    teeType: dv.getUint32(4, true),
    reserved: raw.subarray(8, 12),
    vendorId: raw.subarray(12, 28),
    userData: raw.subarray(28, 48),
    raw,
  };
}

/** Parses a TD report body of `size` bytes (584 TD 1.0, 648 TD 1.5). */
export function parseTdReportBody(raw: Uint8Array): TdReportBody {
  if (raw.length !== TD10_BODY_SIZE && raw.length !== TD15_BODY_SIZE) {
    throw new TdxQuoteError(
      "malformed",
      `Cannot parse TD report body: size ${raw.length} is neither ${TD10_BODY_SIZE} nor ${TD15_BODY_SIZE}`,
    );
  }
  const f = (o: number, n: number) => raw.subarray(o, o + n);
  const body: TdReportBody = {
    kind: raw.length === TD15_BODY_SIZE ? "td15" : "td10",
    teeTcbSvn: f(0, 16),
    mrSeam: f(16, 48),
    mrSignerSeam: f(64, 48),
    seamAttributes: f(112, 8),
    tdAttributes: f(120, 8),
    xfam: f(128, 8),
    mrTd: f(136, 48),
    mrConfigId: f(184, 48),
    mrOwner: f(232, 48),
    mrOwnerConfig: f(280, 48),
    rtmrs: [f(328, 48), f(376, 48), f(424, 48), f(472, 48)],
    reportData: f(520, 64),
    raw,
  };
  if (body.kind === "td15") {
    body.teeTcbSvn2 = f(584, 16);
    body.mrServiceTd = f(600, 48);
  }
  return body;
}

/** Parses a 384-byte SGX report body. */
export function parseSgxReportBody(raw: Uint8Array): SgxReportBody {
  if (raw.length !== SGX_REPORT_BODY_SIZE) {
    throw new TdxQuoteError(
      "malformed",
      `Cannot parse SGX report body: size ${raw.length}, expected ${SGX_REPORT_BODY_SIZE}`,
    );
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return {
    cpuSvn: raw.subarray(0, 16),
    miscSelect: dv.getUint32(16, true),
    attributes: raw.subarray(48, 64),
    mrEnclave: raw.subarray(64, 96),
    mrSigner: raw.subarray(128, 160),
    isvProdId: dv.getUint16(256, true),
    isvSvn: dv.getUint16(258, true),
    reportData: raw.subarray(320, 384),
    raw,
  };
}

function parseSignatureData(r: Reader): TdxSignatureData {
  const len = r.u32("signature data length");
  const sig = new Reader(r.take(len, "signature data"), "TDX quote signature data");
  const quoteSignature = sig.take(64, "quote signature");
  const attestationKey = sig.take(64, "attestation key");
  const outerType = sig.u16("certification data type");
  if (outerType !== 6) {
    throw new TdxQuoteError(
      "unsupported",
      `Cannot parse TDX quote: certification data type ${outerType}, expected 6 (QE report)`,
    );
  }
  const outerSize = sig.u32("certification data size");
  const cert = new Reader(sig.take(outerSize, "certification data"), "QE certification data");
  const qeReport = parseSgxReportBody(cert.take(SGX_REPORT_BODY_SIZE, "QE report"));
  const qeReportSignature = cert.take(64, "QE report signature");
  const qeAuthData = cert.take(cert.u16("QE authentication data size"), "QE authentication data");
  const certDataType = cert.u16("PCK certification data type");
  if (certDataType !== 5) {
    throw new TdxQuoteError(
      "unsupported",
      `Cannot parse TDX quote: inner certification data type ${certDataType}, expected 5 (PCK chain)`,
    );
  }
  const chain = cert.take(cert.u32("PCK certification data size"), "PCK certificate chain");
  // Some producers NUL-terminate the PEM text.
  let end = chain.length;
  while (end > 0 && chain[end - 1] === 0) end--;
  const pckChainPem = new TextDecoder("utf-8", { fatal: false }).decode(chain.subarray(0, end));
  return {
    quoteSignature,
    attestationKey,
    qeReport,
    qeReportSignature,
    qeAuthData,
    certDataType,
    pckChainPem,
  };
}

/**
 * Parses a TDX quote (v4 or v5). Bytes after the declared signature data are ignored, as QVL
 * does (several real quotes carry zero padding).
 *
 * @throws {TdxQuoteError} on truncation, inconsistent lengths or an unsupported format.
 */
export function parseTdxQuote(bytes: Uint8Array): TdxQuote {
  const r = new Reader(bytes, "TDX quote");
  const header = parseHeader(r);
  if (header.version !== 4 && header.version !== 5) {
    throw new TdxQuoteError(
      "unsupported",
      `Cannot parse TDX quote: version ${header.version}, expected TDX quote (v4/v5)`,
    );
  }
  if (header.attKeyType !== 2) {
    throw new TdxQuoteError(
      "unsupported",
      `Cannot parse TDX quote: attestation key type ${header.attKeyType}, expected 2 (ECDSA P-256)`,
    );
  }
  if (header.teeType !== TEE_TYPE_TDX) {
    throw new TdxQuoteError(
      "unsupported",
      `Cannot parse TDX quote: tee_type 0x${header.teeType.toString(16)}, expected 0x81 (TDX)`,
    );
  }
  let bodyDescriptor: TdxQuote["bodyDescriptor"];
  let bodySize = TD10_BODY_SIZE;
  if (header.version === 5) {
    const raw = bytes.subarray(r.offset, r.offset + 6);
    const type = r.u16("body type");
    const size = r.u32("body size");
    const expected = type === 2 ? TD10_BODY_SIZE : type === 3 ? TD15_BODY_SIZE : undefined;
    if (expected === undefined) {
      throw new TdxQuoteError(
        "unsupported",
        `Cannot parse TDX quote: v5 body type ${type}, expected 2 (TD 1.0) or 3 (TD 1.5)`,
      );
    }
    if (size !== expected) {
      throw new TdxQuoteError(
        "malformed",
        `Cannot parse TDX quote: v5 body type ${type} declares size ${size}, expected ${expected}`,
      );
    }
    bodyDescriptor = { type, size, raw };
    bodySize = size;
  }
  const body = parseTdReportBody(r.take(bodySize, "report body"));
  const signedRegion = bytes.subarray(0, r.offset);
  const signature = parseSignatureData(r);
  const quote: TdxQuote = { header, body, signedRegion, signature };
  if (bodyDescriptor) quote.bodyDescriptor = bodyDescriptor;
  return quote;
}
