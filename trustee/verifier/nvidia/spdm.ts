/**
 * The raw NVIDIA attestation report: an SPDM 1.1 GET_MEASUREMENTS request (37 bytes) followed by
 * the responder's MEASUREMENTS response (spec/evidence.md §10.2, DMTF DSP0274 1.1.1). Every length
 * field is bounds-checked against the bytes actually present; errors are `bad-evidence` and carry
 * Trustee's wording where Trustee has one.
 *
 * @module
 */
import type { JsonValue } from "@coco/lib/json";
import { VerifierError } from "../types.ts";
import { decodeOpaqueData } from "./opaque.ts";

/** Only SPDM 1.1 is supported (as Trustee). */
export const SPDM_VERSION = 0x11;
/** Size of the GET_MEASUREMENTS request that starts the report. */
export const SPDM_REQUEST_SIZE = 37;
/** Size of a Hopper report signature: raw ECDSA P-384 r‖s. */
export const HOPPER_SIGNATURE_SIZE = 96;
const GET_MEASUREMENTS = 0xe0;
const MEASUREMENTS = 0x60;
const DMTF_SPECIFICATION = 1;

/** The GET_MEASUREMENTS request the verifier's nonce went into. */
export interface SpdmRequest {
  version: number;
  param1: number;
  param2: number;
  /** The requester's nonce: what report data is bound to. */
  nonce: Uint8Array;
  slotId: number;
}

/** One measurement block (DMTF measurement layout). */
export interface MeasurementBlock {
  index: number;
  valueType: number;
  value: Uint8Array;
}

/** The MEASUREMENTS response. */
export interface SpdmResponse {
  version: number;
  param1: number;
  param2: number;
  blocks: MeasurementBlock[];
  /** The responder's nonce (not checked, as Trustee). */
  nonce: Uint8Array;
  /** Decoded NVIDIA opaque data: claim key → value (spec §10.2). */
  opaque: Record<string, JsonValue>;
  signature: Uint8Array;
}

/** A parsed report and the byte range its signature covers. */
export interface NvidiaReport {
  request: SpdmRequest;
  response: SpdmResponse;
  /** Bytes [0, signedLength) are signed: request ‖ response without the signature. */
  signedLength: number;
  /** Bytes consumed by request + response; anything after is ignored (as Trustee). */
  length: number;
}

function bad(message: string): never {
  throw new VerifierError("bad-evidence", message);
}

/** Reads `len` bytes at `at` or fails naming `what`. */
function take(bytes: Uint8Array, at: number, len: number, what: string): Uint8Array {
  if (at + len > bytes.length) {
    bad(`${what} overflow: needs ${len} byte(s) at offset ${at}, report has ${bytes.length}`);
  }
  return bytes.subarray(at, at + len);
}

const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);

function parseRequest(bytes: Uint8Array): SpdmRequest {
  if (bytes.length < SPDM_REQUEST_SIZE) bad("Attestation report data is too small");
  if (bytes[0] !== SPDM_VERSION) bad(`SPDM version ${hex2(bytes[0]!)} not supported`);
  if (bytes[1] !== GET_MEASUREMENTS) {
    bad(`SPDM request code ${hex2(bytes[1]!)} is not GET_MEASUREMENTS (0xe0)`);
  }
  if ((bytes[2]! & 1) === 0) bad("SPDM GET_MEASUREMENTS request did not ask for a signature");
  return {
    version: bytes[0]!,
    param1: bytes[2]!,
    param2: bytes[3]!,
    nonce: bytes.slice(4, 36),
    slotId: bytes[36]!,
  };
}

const hex2 = (n: number) => `0x${n.toString(16).padStart(2, "0")}`;

/** Parses the measurement record; it must hold exactly `count` blocks and nothing else. */
function parseRecord(record: Uint8Array, count: number): MeasurementBlock[] {
  const blocks: MeasurementBlock[] = [];
  const seen = new Set<number>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    const head = take(record, at, 4, "MeasurementBlock");
    const index = head[0]!;
    if (head[1] !== DMTF_SPECIFICATION) {
      bad("Only measurements encoded in the DMTF layout are supported");
    }
    const size = u16(head, 2);
    const m = take(record, at + 4, size, "Measurement");
    if (size < 3) bad(`DMTF measurement of block ${index} must be at least 3 bytes`);
    const valueSize = u16(m, 1);
    if (3 + valueSize !== size) {
      bad(
        `DMTF measurement of block ${index} declares ${valueSize} value bytes in a ${size}-byte block`,
      );
    }
    if (seen.has(index)) bad(`Duplicated measurement block index ${index}`);
    seen.add(index);
    blocks.push({ index, valueType: m[0]!, value: m.slice(3) });
    at += 4 + size;
  }
  if (at !== record.length) {
    bad(`MeasurementRecord has ${record.length - at} byte(s) after its ${count} block(s)`);
  }
  return blocks;
}

function parseResponse(bytes: Uint8Array, start: number, sigSize: number) {
  const head = take(bytes, start, 8, "SpdmGetMeasurementsResponse header");
  if (head[0] !== SPDM_VERSION) bad(`SPDM version ${hex2(head[0]!)} not supported`);
  if (head[1] !== MEASUREMENTS) {
    bad(`SPDM response code ${hex2(head[1]!)} is not MEASUREMENTS (0x60)`);
  }
  const recordLength = head[5]! | (head[6]! << 8) | (head[7]! << 16);
  let at = start + 8;
  const blocks = parseRecord(take(bytes, at, recordLength, "MeasurementRecord"), head[4]!);
  at += recordLength;
  const nonce = take(bytes, at, 32, "Nonce").slice();
  at += 32;
  const opaqueLength = u16(take(bytes, at, 2, "OpaqueDataLength"), 0);
  at += 2;
  const opaque = decodeOpaqueData(take(bytes, at, opaqueLength, "OpaqueData"));
  at += opaqueLength;
  const signature = take(bytes, at, sigSize, "Signature").slice();
  const response: SpdmResponse = {
    version: head[0]!,
    param1: head[2]!,
    param2: head[3]!,
    blocks,
    nonce,
    opaque,
    signature,
  };
  return { response, signedEnd: at, end: at + sigSize };
}

/**
 * Parses a raw report (request ‖ response). `signatureSize` is the device's raw signature size
 * (96 for Hopper). Throws `bad-evidence` naming the field that does not fit.
 */
export function parseNvidiaReport(
  bytes: Uint8Array,
  signatureSize = HOPPER_SIGNATURE_SIZE,
): NvidiaReport {
  const request = parseRequest(bytes);
  const { response, signedEnd, end } = parseResponse(bytes, SPDM_REQUEST_SIZE, signatureSize);
  return { request, response, signedLength: signedEnd, length: end };
}
