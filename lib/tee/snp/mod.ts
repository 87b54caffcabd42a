/**
 * AMD SEV-SNP attestation report layout: parse and encode (shared by the guest attester and the
 * trustee verifier).
 *
 * - {@linkcode parseSnpReport} / {@linkcode encodeSnpReport}: the 1184-byte report (versions 2-5,
 *   Milan/Genoa and Turin TCB layouts chosen by CPUID family/model).
 * - {@linkcode parseSnpEvidence} / {@linkcode snpEvidenceToJson}: the sev crate's serde JSON shape.
 * - {@linkcode snpSignedBytes} / {@linkcode snpSignatureP1363}: what the VCEK/VLEK signature covers.
 * - {@linkcode parseSnpCertTable} / {@linkcode encodeSnpCertTable}: the extended-report
 *   certificate table (GHCB GUID table).
 *
 * @example
 * ```ts
 * const report = parseSnpReport(bytes);
 * const signed = snpSignedBytes(report); // hash with SHA-384, verify with the VEK
 * ```
 *
 * @module
 */
export { SnpFormatError, type SnpFormatErrorCode } from "./errors.ts";
export {
  decodeTcb,
  encodeTcb,
  layoutFromChipId,
  productFromCpuid,
  type SnpProduct,
  type TcbLayout,
  tcbLayoutOf,
  type TcbVersion,
} from "./tcb.ts";
export {
  encodeSnpReport,
  type FirmwareVersion,
  parseSnpReport,
  SNP_BYTE_FIELDS,
  SNP_REPORT_SIZE,
  SNP_SIGNED_SIZE,
  type SnpByteField,
  snpProductOf,
  type SnpReport,
  snpSignatureP1363,
  snpSignedBytes,
  tcbLayoutOfReport,
} from "./report.ts";
export {
  decodeGuestPolicy,
  decodeKeyInfo,
  decodePlatformInfo,
  type SnpGuestPolicy,
  type SnpKeyInfo,
  type SnpPlatformInfo,
  type SnpSigningKey,
} from "./policy.ts";
export {
  certTypeOfGuid,
  encodeSnpCertTable,
  guidOfCertType,
  parseSnpCertTable,
  SNP_CERT_GUIDS,
  type SnpCertEntry,
  type SnpCertType,
} from "./cert_table.ts";
export {
  parseSnpCertChainJson,
  parseSnpEvidence,
  parseSnpReportJson,
  type SnpEvidence,
  snpEvidenceToJson,
  snpReportToJson,
} from "./evidence.ts";
