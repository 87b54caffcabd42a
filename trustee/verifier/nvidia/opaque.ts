/**
 * NVIDIA opaque data in the SPDM MEASUREMENTS response: a list of `{type u16 LE, size u16 LE,
 * data}` items decoded into the `config` claims (spec/evidence.md §10.2). Key names and value
 * encodings follow Trustee (which follows nvtrust); unknown and duplicated types are errors.
 *
 * @module
 */
import type { JsonValue } from "@coco/lib/json";
import { VerifierError } from "../types.ts";

type Decoding = "hex" | "string" | "vbios" | "counts" | "pdi" | "number" | "feature";

/** Opaque data type → claim key and how its bytes are rendered. */
export const OPAQUE_TYPES: ReadonlyMap<number, readonly [key: string, decoding: Decoding]> =
  new Map([
    [1, ["cert_issuer_name", "hex"]],
    [2, ["cert_authority_key_identifier", "hex"]],
    [3, ["driver_version", "string"]],
    [4, ["gpu_info", "hex"]],
    [5, ["id_sku", "hex"]],
    [6, ["vbios_version", "vbios"]],
    [7, ["manufacturer_id", "hex"]],
    [8, ["tamper_detection", "hex"]],
    [9, ["smc", "hex"]],
    [10, ["vpr", "hex"]],
    [11, ["nvdec0_status", "string"]],
    [12, ["measurement_count", "counts"]],
    [13, ["cpr_info", "hex"]],
    [14, ["board_id", "hex"]],
    [15, ["chip_sku", "string"]],
    [16, ["chip_sku_mod", "string"]],
    [17, ["project", "string"]],
    [18, ["project_sku", "string"]],
    [19, ["project_sku_mod", "hex"]],
    [20, ["fwid", "hex"]],
    [21, ["protected_pcie_status", "string"]],
    [22, ["switch_pdi", "pdi"]],
    [23, ["floorswept_ports", "hex"]],
    [24, ["position_id", "hex"]],
    [25, ["lock_switch_status", "hex"]],
    [32, ["gpu_link_conn", "hex"]],
    [33, ["sys_enable_status", "hex"]],
    [34, ["opaque_data_version", "number"]],
    [35, ["chip_info", "string"]],
    [36, ["feature_flag", "feature"]],
  ]);

const FEATURES = ["SPT", "MPT", "PPCIE"] as const;

function bad(message: string): never {
  throw new VerifierError("bad-evidence", message);
}

/** Lossy UTF-8 with trailing NULs removed (Rust `from_utf8_lossy(..).trim_end_matches('\0')`). */
function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes).replace(/\0+$/, "");
}

/** First half reversed, dot-joined hex, then "." and the next byte: `009f009601000000` → 96.00.9f.00.01. */
function vbios(bytes: Uint8Array): string {
  if (bytes.length < 2) bad("Invalid gpu vbios version");
  const half = bytes.length >> 1;
  const head = [...bytes.subarray(0, half)].reverse().map((b) => b.toString(16).padStart(2, "0"));
  return `${head.join(".")}.${bytes[half]!.toString(16).padStart(2, "0")}`;
}

function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  if (bytes.length % size !== 0) bad(`OpaqueDataType is not multiple of ${size}`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** Little-endian unsigned integer of at most 8 bytes, as a JSON-safe number. */
function leNumber(bytes: Uint8Array): number {
  if (bytes.length > 8) bad("OpaqueDataType integer larger than 8 bytes");
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) bad(`OpaqueDataType integer ${n} is too large`);
  return Number(n);
}

function decodeItem(decoding: Decoding, data: Uint8Array): JsonValue {
  switch (decoding) {
    case "hex":
      return data.toHex();
    case "string":
      return text(data);
    case "vbios":
      return vbios(data);
    case "counts": {
      const counts = chunks(data, 4);
      if (counts.length > 255) bad(`measurement_count has ${counts.length} entries (max 255)`);
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      return Object.fromEntries(counts.map((_, i) => [String(i + 1), dv.getUint32(i * 4, true)]));
    }
    case "pdi":
      return chunks(data, 8).map((c) => c.toHex());
    case "number":
      return leNumber(data);
    case "feature":
      return FEATURES[leNumber(data)] ?? "unknown";
  }
}

/**
 * Decodes opaque data into claim key → value. `vbios_version` and `driver_version` are required,
 * so empty opaque data is rejected here (Trustee skips decoding it and fails later, on the missing
 * `fwid`). Strict: a trailing partial item header is an error.
 */
export function decodeOpaqueData(bytes: Uint8Array): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 4) {
      bad(`OpaqueData item header overflow: ${bytes.length - at} trailing byte(s)`);
    }
    const type = bytes[at]! | (bytes[at + 1]! << 8);
    const size = bytes[at + 2]! | (bytes[at + 3]! << 8);
    const known = OPAQUE_TYPES.get(type);
    if (!known) bad(`Invalid OpaqueDataType ${type}`);
    at += 4;
    if (at + size > bytes.length) {
      bad(`OpaqueData overflow: offset 0x${at.toString(16)}, data_size 0x${size.toString(16)}`);
    }
    const [key, decoding] = known;
    if (Object.hasOwn(out, key)) bad(`Duplicated OpaqueDataType: ${key}`);
    out[key] = decodeItem(decoding, bytes.subarray(at, at + size));
    at += size;
  }
  if (!Object.hasOwn(out, "vbios_version") || !Object.hasOwn(out, "driver_version")) {
    bad("Both vbios_version and driver_version must be present in the report");
  }
  return out;
}
