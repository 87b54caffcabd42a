/**
 * The `az-snp-vtpm` verifier (spec/evidence.md §7.4): Azure SEV-SNP confidential VMs, whose
 * vTPM quote is signed by the AK published in the HCL report, whose HCL variable data is bound
 * to the SNP report's REPORT_DATA, and whose SNP report is verified against the VCEK and the
 * embedded AMD roots by the `snp` verifier's {@linkcode verifySnpReport}. See README.md.
 *
 * @module
 */
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual } from "@coco/lib/bytes";
import { decodeGuestPolicy, decodePlatformInfo, type SnpReport } from "@coco/lib/tee/snp";
import type { VerifiedClaims, Verifier, VerifierOptions, VerifyInput } from "../types.ts";
import { VerifierError } from "../types.ts";
import { verifySnpReport } from "../snp/mod.ts";
import { azTpmClaims, parseAzEvidence, verifyAzTpm, verifyUserData } from "../tpm/azure.ts";

/** Checks a raw SNP report against its VEK (PEM) and the AMD roots; injected in tests. */
export type SnpReportCheck = (
  report: Uint8Array,
  vekChainPem: string | undefined,
  options: VerifierOptions,
) => Promise<{ report: SnpReport }>;

const REPORT_DATA_OFFSET = 0x50;

function derToPem(der: Uint8Array): string {
  const lines = der.toBase64().match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** Azure claims: every SNP value a string, `measurement` in base64 (spec §7.4, pitfall 9). */
export function azSnpClaims(r: SnpReport): Record<string, JsonValue> {
  const p = decodeGuestPolicy(r.policy);
  const plat = decodePlatformInfo(r.plat_info);
  return {
    policy_abi_major: String(p.abiMajor),
    policy_abi_minor: String(p.abiMinor),
    policy_smt_allowed: String(p.smtAllowed),
    policy_migrate_ma: String(p.migrateMa),
    policy_debug_allowed: String(p.debugAllowed),
    policy_single_socket: String(p.singleSocket),
    reported_tcb_bootloader: String(r.reported_tcb.bootloader),
    reported_tcb_tee: String(r.reported_tcb.tee),
    reported_tcb_snp: String(r.reported_tcb.snp),
    reported_tcb_microcode: String(r.reported_tcb.microcode),
    platform_tsme_enabled: String(plat.tsmeEnabled),
    platform_smt_enabled: String(plat.smtEnabled),
    measurement: r.measurement.toBase64(),
  };
}

/** Verifier for Azure SEV-SNP vTPM evidence. */
export class AzSnpVtpmVerifier implements Verifier {
  readonly tee = "az-snp-vtpm" as const;
  readonly #options: VerifierOptions;
  readonly #checkReport: SnpReportCheck;

  constructor(options: VerifierOptions = {}, checkReport: SnpReportCheck = verifySnpReport) {
    this.#options = options;
    this.#checkReport = checkReport;
  }

  async evaluate(input: VerifyInput): Promise<VerifiedClaims[]> {
    const ev = parseAzEvidence(this.tee, input.evidence);
    const tpm = await verifyAzTpm(this.tee, ev, input);
    const hwReportData = tpm.hcl.hwReport.subarray(REPORT_DATA_OFFSET, REPORT_DATA_OFFSET + 32);
    if (!bytesEqual(hwReportData, tpm.varDataHash)) {
      throw new VerifierError(
        "report-data-mismatch",
        "Cannot verify az-snp-vtpm evidence: SNP report REPORT_DATA does not match SHA-256 of " +
          "the HCL variable data (the AK is not bound to the hardware report)",
      );
    }
    verifyUserData(this.tee, ev, tpm.hcl, input.reportData!);
    const vek = typeof ev.hardware === "string" ? ev.hardware : derToPem(ev.hardware);
    const { report } = await this.#checkReport(tpm.hcl.hwReport, vek, this.#options);
    if (report.vmpl !== 0) {
      throw new VerifierError(
        "policy-violation",
        `Cannot verify az-snp-vtpm evidence: the SNP report was issued at VMPL ${report.vmpl}, not 0`,
      );
    }
    const claims = {
      ...azSnpClaims(report),
      ...await azTpmClaims(this.tee, tpm, input.initDataHash),
    };
    return [{ claims, teeClass: "cpu" }];
  }
}
