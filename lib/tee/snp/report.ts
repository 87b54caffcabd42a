/**
 * The 1184-byte SEV-SNP ATTESTATION_REPORT (versions 2-5): typed fields with the sev crate's
 * serde names, binary decode and re-encode, and the signed-bytes rule (ECDSA P-384 over
 * SHA-384 of bytes [0, 0x2A0) of the *re-encoded* report, reserved bytes zero).
 */
import { SnpFormatError } from "./errors.ts";
import {
  decodeTcb,
  encodeTcb,
  layoutFromChipId,
  requireProduct,
  type SnpProduct,
  type TcbLayout,
  type TcbVersion,
} from "./tcb.ts";

/** Report size in bytes. */
export const SNP_REPORT_SIZE = 0x4a0;
/** End (exclusive) of the signed area; the signature starts here. */
export const SNP_SIGNED_SIZE = 0x2a0;

/** Firmware version `{major, minor, build}` (CURRENT / COMMITTED). */
export interface FirmwareVersion {
  major: number;
  minor: number;
  build: number;
}

/** A decoded attestation report. Byte fields are raw; integers are little-endian decoded. */
export interface SnpReport {
  version: number;
  guest_svn: number;
  /** Raw 64-bit guest POLICY. */
  policy: bigint;
  family_id: Uint8Array;
  image_id: Uint8Array;
  vmpl: number;
  sig_algo: number;
  current_tcb: TcbVersion;
  /** Raw 64-bit PLATFORM_INFO. */
  plat_info: bigint;
  key_info: number;
  report_data: Uint8Array;
  measurement: Uint8Array;
  host_data: Uint8Array;
  id_key_digest: Uint8Array;
  author_key_digest: Uint8Array;
  report_id: Uint8Array;
  report_id_ma: Uint8Array;
  reported_tcb: TcbVersion;
  /** CPUID family/model/stepping; null for version-2 reports. */
  cpuid_fam_id: number | null;
  cpuid_mod_id: number | null;
  cpuid_step: number | null;
  chip_id: Uint8Array;
  committed_tcb: TcbVersion;
  current: FirmwareVersion;
  committed: FirmwareVersion;
  launch_tcb: TcbVersion;
  /** Version 5 and later only. */
  launch_mit_vector: bigint | null;
  current_mit_vector: bigint | null;
  /** ECDSA R and S, 72 bytes each, little-endian (low 48 bytes significant). */
  signature: { r: Uint8Array; s: Uint8Array };
}

/** Byte fields: name, offset, length. */
export const SNP_BYTE_FIELDS = [
  ["family_id", 0x10, 16],
  ["image_id", 0x20, 16],
  ["report_data", 0x50, 64],
  ["measurement", 0x90, 48],
  ["host_data", 0xc0, 32],
  ["id_key_digest", 0xe0, 48],
  ["author_key_digest", 0x110, 48],
  ["report_id", 0x140, 32],
  ["report_id_ma", 0x160, 32],
  ["chip_id", 0x1a0, 64],
] as const;

/** Name of a byte field of {@linkcode SnpReport}. */
export type SnpByteField = typeof SNP_BYTE_FIELDS[number][0];

const TCB_FIELDS = [
  ["current_tcb", 0x38],
  ["reported_tcb", 0x180],
  ["committed_tcb", 0x1e0],
  ["launch_tcb", 0x1f0],
] as const;

/** Product of a version-3+ report from CPUID; `undefined` for version 2. */
export function snpProductOf(report: SnpReport): SnpProduct | undefined {
  if (report.version < 3 || report.cpuid_fam_id === null || report.cpuid_mod_id === null) {
    return undefined;
  }
  return requireProduct(report.cpuid_fam_id, report.cpuid_mod_id);
}

/** TCB layout of a report: from CPUID (v3+) or the CHIP_ID heuristic (v2). */
export function tcbLayoutOfReport(
  version: number,
  family: number | null,
  model: number | null,
  chipId: Uint8Array,
): TcbLayout {
  if (version >= 3 && family !== null && model !== null) {
    return requireProduct(family, model) === "Turin" ? "turin" : "legacy";
  }
  return layoutFromChipId(chipId);
}

function checkVersion(version: number): void {
  if (version < 2 || version > 5) {
    throw new SnpFormatError(
      "unsupported-version",
      `Cannot use SNP report: version ${version} is not supported (expected 2 to 5)`,
    );
  }
}

/** Decodes a binary report. Throws {@linkcode SnpFormatError} on a bad size or version. */
export function parseSnpReport(bytes: Uint8Array): SnpReport {
  if (bytes.length !== SNP_REPORT_SIZE) {
    throw new SnpFormatError(
      "invalid-report",
      `Cannot parse SNP report: expected ${SNP_REPORT_SIZE} bytes, got ${bytes.length}`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u64 = (o: number) => dv.getBigUint64(o, true);
  const slice = (o: number, n: number) => bytes.slice(o, o + n);
  const version = u32(0);
  checkVersion(version);
  const v3 = version >= 3;
  const chipId = slice(0x1a0, 64);
  const fam = v3 ? bytes[0x188]! : null;
  const mod = v3 ? bytes[0x189]! : null;
  const layout = tcbLayoutOfReport(version, fam, mod, chipId);
  const tcb = (o: number) => decodeTcb(bytes.subarray(o, o + 8), layout);
  const fw = (o: number): FirmwareVersion => ({
    build: bytes[o]!,
    minor: bytes[o + 1]!,
    major: bytes[o + 2]!,
  });
  const report = {
    version,
    guest_svn: u32(4),
    policy: u64(8),
    vmpl: u32(0x30),
    sig_algo: u32(0x34),
    plat_info: u64(0x40),
    key_info: u32(0x48),
    cpuid_fam_id: fam,
    cpuid_mod_id: mod,
    cpuid_step: v3 ? bytes[0x18a]! : null,
    current: fw(0x1e8),
    committed: fw(0x1ec),
    launch_mit_vector: version >= 5 ? u64(0x1f8) : null,
    current_mit_vector: version >= 5 ? u64(0x200) : null,
    signature: { r: slice(0x2a0, 72), s: slice(0x2e8, 72) },
  } as Partial<SnpReport> & Record<string, unknown>;
  for (const [name, off] of TCB_FIELDS) report[name] = tcb(off);
  for (const [name, off, len] of SNP_BYTE_FIELDS) report[name] = slice(off, len);
  return report as SnpReport;
}

/**
 * Encodes a report into 1184 bytes: every reserved byte zero, TCBs in the product's layout,
 * CPUID bytes only for version 3+, mitigation vectors only for version 5+.
 */
export function encodeSnpReport(report: SnpReport): Uint8Array<ArrayBuffer> {
  checkVersion(report.version);
  const out = new Uint8Array(SNP_REPORT_SIZE);
  const dv = new DataView(out.buffer);
  const layout = tcbLayoutOfReport(
    report.version,
    report.cpuid_fam_id,
    report.cpuid_mod_id,
    report.chip_id,
  );
  dv.setUint32(0, report.version, true);
  dv.setUint32(4, report.guest_svn, true);
  dv.setBigUint64(8, report.policy, true);
  dv.setUint32(0x30, report.vmpl, true);
  dv.setUint32(0x34, report.sig_algo, true);
  dv.setBigUint64(0x40, report.plat_info, true);
  dv.setUint32(0x48, report.key_info, true);
  for (const [name, off, len] of SNP_BYTE_FIELDS) {
    const v = report[name];
    if (v.length !== len) {
      throw new SnpFormatError(
        "invalid-report",
        `Cannot encode SNP report: ${name} must be ${len} bytes`,
      );
    }
    out.set(v, off);
  }
  for (const [name, off] of TCB_FIELDS) out.set(encodeTcb(report[name], layout), off);
  if (report.version >= 3) {
    out[0x188] = report.cpuid_fam_id ?? 0;
    out[0x189] = report.cpuid_mod_id ?? 0;
    out[0x18a] = report.cpuid_step ?? 0;
  }
  out.set([report.current.build, report.current.minor, report.current.major], 0x1e8);
  out.set([report.committed.build, report.committed.minor, report.committed.major], 0x1ec);
  if (report.version >= 5) {
    dv.setBigUint64(0x1f8, report.launch_mit_vector ?? 0n, true);
    dv.setBigUint64(0x200, report.current_mit_vector ?? 0n, true);
  }
  out.set(report.signature.r.subarray(0, 72), 0x2a0);
  out.set(report.signature.s.subarray(0, 72), 0x2e8);
  return out;
}

/** The bytes the report signature covers: [0, 0x2A0) of the re-encoded report. */
export function snpSignedBytes(report: SnpReport): Uint8Array<ArrayBuffer> {
  return encodeSnpReport(report).slice(0, SNP_SIGNED_SIZE);
}

/** R‖S as a 96-byte big-endian IEEE P1363 signature (what WebCrypto ECDSA verifies). */
export function snpSignatureP1363(report: SnpReport): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(96);
  out.set(report.signature.r.slice(0, 48).reverse(), 0);
  out.set(report.signature.s.slice(0, 48).reverse(), 48);
  return out;
}
