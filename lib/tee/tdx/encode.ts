/**
 * Encoding of TDX quote signature data (the inverse of the parser's signature-data step). Used
 * by tests and tools that re-sign a quote under a test PKI.
 */
import { concat } from "../../bytes.ts";

/** Fields of the ECDSA signature data, in wire order. */
export interface TdxSignatureDataInput {
  quoteSignature: Uint8Array;
  attestationKey: Uint8Array;
  qeReport: Uint8Array;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  pckChainPem: string;
}

function u16(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, (n >>> 8) & 0xff]);
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** Encodes `u32 len ‖ signature data` (outer certification type 6, inner type 5). */
export function encodeTdxSignatureData(s: TdxSignatureDataInput): Uint8Array<ArrayBuffer> {
  const chain = new TextEncoder().encode(s.pckChainPem);
  const inner = concat(
    s.qeReport,
    s.qeReportSignature,
    u16(s.qeAuthData.length),
    s.qeAuthData,
    u16(5),
    u32(chain.length),
    chain,
  );
  const sig = concat(s.quoteSignature, s.attestationKey, u16(6), u32(inner.length), inner);
  return concat(u32(sig.length), sig);
}

/** Builds a whole quote from its signed region and signature data. */
export function encodeTdxQuote(
  signedRegion: Uint8Array,
  sig: TdxSignatureDataInput,
): Uint8Array<ArrayBuffer> {
  return concat(signedRegion, encodeTdxSignatureData(sig));
}
