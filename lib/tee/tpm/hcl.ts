/**
 * Azure confidential VM HCL report (spec/evidence.md §7.3; read from vTPM NV index 0x01400001):
 * a 32-byte header ("HCLA"), the hardware report region (SNP report, or a TDX TDREPORT in its
 * first 1024 bytes), the IGVM request data and the variable data, a JSON document holding the
 * vTPM attestation key (JWK `HCLAkPub`) and `user-data`. All integers little-endian.
 */
import { TpmError } from "./errors.ts";

/** NV index holding the HCL report on Azure CVMs. */
export const HCL_REPORT_NV_INDEX = 0x01400001;
/** NV index the guest writes its report data ("user data") to before reading the HCL report. */
export const HCL_USER_DATA_NV_INDEX = 0x01400002;
/** Persistent handle of the Azure vTPM attestation key. */
export const AZURE_AK_HANDLE = 0x81000003;

const HCL_SIGNATURE = 0x414c4348; // "HCLA"
const HW_REPORT_OFFSET = 32;
const HW_REPORT_SIZE = 1184;
const IGVM_OFFSET = HW_REPORT_OFFSET + HW_REPORT_SIZE;
const VAR_DATA_OFFSET = IGVM_OFFSET + 20;

/** A parsed HCL report. */
export interface HclReport {
  version: number;
  /** `snp` (IGVM report type 2) or `tdx` (4). */
  reportType: "snp" | "tdx";
  /** The 1184-byte hardware report region (a TDREPORT uses its first 1024 bytes). */
  hwReport: Uint8Array;
  /** Variable data bytes, whose SHA-256 the hardware report's REPORTDATA[0..32] carries. */
  varData: Uint8Array;
  /** Parsed variable data. */
  akJwk: { kty: "RSA"; n: string; e: string };
  /** Upper-case hex `user-data`, when present. */
  userData?: string;
}

function fail(message: string): never {
  throw new TpmError("malformed", `Cannot parse HCL report: ${message}`);
}

function parseVarData(varData: Uint8Array): Pick<HclReport, "akJwk" | "userData"> {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(varData));
  } catch {
    fail("variable data is not UTF-8 JSON");
  }
  if (typeof doc !== "object" || doc === null || !Array.isArray((doc as { keys?: unknown }).keys)) {
    fail("variable data has no `keys` array");
  }
  const keys = (doc as { keys: unknown[] }).keys;
  const ak = keys.find((k) =>
    typeof k === "object" && k !== null && (k as { kid?: unknown }).kid === "HCLAkPub"
  ) as Record<string, unknown> | undefined;
  if (!ak) fail("variable data has no HCLAkPub key");
  if (ak.kty !== "RSA" || typeof ak.n !== "string" || typeof ak.e !== "string") {
    fail("HCLAkPub is not an RSA JWK with `n` and `e`");
  }
  const userData = (doc as { "user-data"?: unknown })["user-data"];
  if (userData !== undefined && typeof userData !== "string") fail("`user-data` is not a string");
  return {
    akJwk: { kty: "RSA", n: ak.n, e: ak.e },
    ...(userData === undefined ? {} : { userData }),
  };
}

/** Parses an HCL report; `malformed` errors name the field. */
export function parseHclReport(bytes: Uint8Array): HclReport {
  if (bytes.length < VAR_DATA_OFFSET) fail(`${bytes.length} bytes, at least ${VAR_DATA_OFFSET}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sig = v.getUint32(0, true);
  if (sig !== HCL_SIGNATURE) fail(`signature is 0x${sig.toString(16)}, expected "HCLA"`);
  const type = v.getUint32(IGVM_OFFSET + 8, true);
  if (type !== 2 && type !== 4) fail(`IGVM report type ${type} is neither 2 (SNP) nor 4 (TDX)`);
  const hashType = v.getUint32(IGVM_OFFSET + 12, true);
  if (hashType !== 1) fail(`report data hash type ${hashType} is not 1 (SHA-256)`);
  const size = v.getUint32(IGVM_OFFSET + 16, true);
  if (VAR_DATA_OFFSET + size > bytes.length) {
    fail(`variable data of ${size} bytes overruns the ${bytes.length}-byte report`);
  }
  const varData = bytes.slice(VAR_DATA_OFFSET, VAR_DATA_OFFSET + size);
  return {
    version: v.getUint32(4, true),
    reportType: type === 2 ? "snp" : "tdx",
    hwReport: bytes.slice(HW_REPORT_OFFSET, HW_REPORT_OFFSET + HW_REPORT_SIZE),
    varData,
    ...parseVarData(varData),
  };
}
