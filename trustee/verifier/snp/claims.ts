/** SNP claims exactly as spec/evidence.md §3.8 (numbers, booleans and lowercase hex). */
import type { JsonValue } from "@coco/lib/json";
import { decodeGuestPolicy, decodePlatformInfo, type SnpReport } from "@coco/lib/tee/snp";

/** Builds the `snp` claims of a verified report. */
export function snpClaims(report: SnpReport): Record<string, JsonValue> {
  const policy = decodeGuestPolicy(report.policy);
  const platform = decodePlatformInfo(report.plat_info);
  return {
    policy_abi_major: policy.abiMajor,
    policy_abi_minor: policy.abiMinor,
    policy_smt_allowed: policy.smtAllowed,
    policy_migrate_ma: policy.migrateMa,
    policy_debug_allowed: policy.debugAllowed,
    policy_single_socket: policy.singleSocket,
    reported_tcb_bootloader: report.reported_tcb.bootloader,
    reported_tcb_tee: report.reported_tcb.tee,
    reported_tcb_snp: report.reported_tcb.snp,
    reported_tcb_microcode: report.reported_tcb.microcode,
    platform_tsme_enabled: platform.tsmeEnabled,
    platform_smt_enabled: platform.smtEnabled,
    measurement: report.measurement.toHex(),
    report_data: report.report_data.toHex(),
    init_data: report.host_data.toHex(),
    chip_id: report.chip_id.toHex(),
  };
}
