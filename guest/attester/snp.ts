/**
 * The SEV-SNP attester: asks the firmware for a report through configfs-tsm (provider
 * `sev_guest`) at VMPL 0 with the report data zero-padded to 64 bytes, and returns the sev-crate
 * JSON evidence `{attestation_report, cert_chain}` that Trustee's (and our) `snp` verifier reads.
 * The host-provided certificate table (`auxblob`, the extended-report GUID table) becomes
 * `cert_chain`; without one `cert_chain` is null and the verifier fetches the VCEK itself.
 *
 * The legacy `/dev/sev-guest` ioctl path is not implemented (needs FFI); see README.
 */
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual } from "@coco/lib/bytes";
import { parseSnpCertTable, parseSnpReport, snpEvidenceToJson } from "@coco/lib/tee/snp";
import { regularize } from "@coco/lib/bytes";
import { type Attester, type InitDataBinding, InitDataBindingError } from "./types.ts";
import { TSM_REPORT_DIR } from "./detect.ts";
import { SnpAttesterError } from "./snp_errors.ts";
import { TsmError, type TsmFs, tsmReport } from "./tsm.ts";

export { SnpAttesterError, type SnpAttesterErrorCode } from "./snp_errors.ts";
export { denoTsmFs, type TsmFs } from "./tsm.ts";

/** SNP attester options. */
export interface SnpAttesterOptions {
  /** configfs-tsm report directory (tests pass a fake one). Default `/sys/kernel/config/tsm/report`. */
  tsmRoot?: string;
  /** VMPL written to `privlevel`; default 0 as upstream. */
  vmpl?: number;
  /** configfs file operations (tests inject an emulation). */
  fs?: TsmFs;
}

/** TSM provider name of the SEV-SNP guest driver. */
export const SNP_TSM_PROVIDER = "sev_guest";

/** Produces SNP evidence JSON for `reportData` (at most 64 bytes). */
export async function snpEvidence(
  reportData: Uint8Array,
  options: SnpAttesterOptions = {},
): Promise<JsonValue> {
  const { outblob, auxblob } = await snpTsmReport(reportData, options);
  try {
    const report = parseSnpReport(outblob);
    const certs = parseSnpCertTable(auxblob);
    return snpEvidenceToJson({ report, certChain: certs.length > 0 ? certs : null });
  } catch (err) {
    throw new SnpAttesterError(
      "bad-report",
      `Cannot get SNP evidence: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

async function snpTsmReport(reportData: Uint8Array, options: SnpAttesterOptions) {
  if (reportData.length > 64) {
    throw new SnpAttesterError(
      "report-data-too-long",
      `Cannot get SNP evidence: report data is ${reportData.length} bytes, at most 64 fit in REPORT_DATA`,
    );
  }
  const inblob = new Uint8Array(64);
  inblob.set(reportData);
  let tsm;
  try {
    tsm = await tsmReport({
      root: options.tsmRoot ?? TSM_REPORT_DIR,
      provider: SNP_TSM_PROVIDER,
      inblob,
      privlevel: options.vmpl ?? 0,
      fs: options.fs,
      what: "SNP evidence",
    });
  } catch (err) {
    if (err instanceof TsmError) throw new SnpAttesterError(err.code, err.message, { cause: err });
    throw err;
  }
  return tsm;
}

/** HOST_DATA of a fresh report (zero report data): the init-data digest set at launch. */
export async function snpHostData(options: SnpAttesterOptions = {}): Promise<Uint8Array> {
  const { outblob } = await snpTsmReport(new Uint8Array(64), options);
  return parseSnpReport(outblob).host_data;
}

/** The SNP attester (no additional devices, no runtime-measurement registers). */
export class SnpAttester implements Attester {
  readonly tee = "snp" as const;
  readonly additionalTees = [] as const;
  readonly #options: SnpAttesterOptions;

  constructor(options: SnpAttesterOptions = {}) {
    this.#options = options;
  }

  primaryEvidence(reportData: Uint8Array): Promise<JsonValue> {
    return snpEvidence(reportData, this.#options);
  }

  additionalEvidence(): Promise<string> {
    return Promise.resolve("");
  }

  /** Compares the digest (zero-padded or truncated to 32 bytes) with HOST_DATA. */
  async bindInitData(digest: Uint8Array): Promise<InitDataBinding> {
    let hostData: Uint8Array;
    try {
      hostData = await snpHostData(this.#options);
    } catch (err) {
      throw new InitDataBindingError(
        "init-data-unavailable",
        `Cannot check init-data: cannot read SNP HOST_DATA: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (!bytesEqual(hostData, regularize(digest, 32))) {
      throw new InitDataBindingError(
        "init-data-mismatch",
        `Init-data digest ${digest.toHex()} does not match SNP HOST_DATA ${hostData.toHex()}`,
      );
    }
    return { status: "matched", field: "HOST_DATA" };
  }
}
