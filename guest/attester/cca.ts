/**
 * The Arm CCA attester (evidence only): asks the RMM for a CCA attestation token through
 * configfs-tsm (provider `arm_cca_guest`) with the report data zero-padded to 64 bytes as the
 * realm challenge, and returns the evidence JSON `{"token": [bytes…]}` (a JSON array of numbers,
 * as guest-components sends it; spec/evidence.md §9). Detected by the TSM provider name.
 * Init-data cannot be checked in the guest (a realm has no register the host sets at launch
 * that the token reports for it, as upstream): the binding is "unsupported" and the AA sends the
 * init-data with the evidence so the verifier checks it. No runtime-measurement registers yet.
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";
import type { JsonValue } from "@coco/lib/json";
import type { Attester, InitDataBinding } from "./types.ts";
import { TSM_REPORT_DIR } from "./detect.ts";
import { TsmError, type TsmErrorCode, type TsmFs, tsmReport } from "./tsm.ts";

/** TSM provider name of the Arm CCA guest driver. */
export const CCA_TSM_PROVIDER = "arm_cca_guest";

/** Why CCA evidence could not be produced. */
export type CcaAttesterErrorCode = TsmErrorCode | "report-data-too-long";

/** CCA evidence could not be produced. */
export class CcaAttesterError extends CodedError<CcaAttesterErrorCode> {}

/** CCA attester options. */
export interface CcaAttesterOptions {
  /** configfs-tsm report directory. Default `/sys/kernel/config/tsm/report`. */
  tsmRoot?: string;
  /** configfs file operations (tests inject an emulation). */
  fs?: TsmFs;
}

/** Produces `cca` evidence JSON for `reportData` (at most 64 bytes). */
export async function ccaEvidence(
  reportData: Uint8Array,
  options: CcaAttesterOptions = {},
): Promise<{ token: number[] }> {
  if (reportData.length > 64) {
    throw new CcaAttesterError(
      "report-data-too-long",
      `Cannot get CCA evidence: report data is ${reportData.length} bytes, at most 64 fit in the realm challenge`,
    );
  }
  const inblob = new Uint8Array(64);
  inblob.set(reportData);
  try {
    const { outblob } = await tsmReport({
      root: options.tsmRoot ?? TSM_REPORT_DIR,
      provider: CCA_TSM_PROVIDER,
      inblob,
      fs: options.fs,
      what: "CCA evidence",
    });
    return { token: [...outblob] };
  } catch (err) {
    if (err instanceof TsmError) throw new CcaAttesterError(err.code, err.message, { cause: err });
    throw err;
  }
}

/** The Arm CCA attester. */
export class CcaAttester implements Attester {
  readonly tee = "cca" as const;
  readonly additionalTees = [] as const;
  readonly #options: CcaAttesterOptions;

  constructor(options: CcaAttesterOptions = {}) {
    this.#options = options;
  }

  primaryEvidence(reportData: Uint8Array): Promise<JsonValue> {
    return ccaEvidence(reportData, this.#options);
  }

  additionalEvidence(): Promise<string> {
    return Promise.resolve("");
  }

  bindInitData(): Promise<InitDataBinding> {
    return Promise.resolve({
      status: "unsupported",
      reason: "a CCA realm token has no launch-time init-data field the guest can compare",
    });
  }
}
