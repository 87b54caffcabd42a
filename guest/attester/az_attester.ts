/**
 * The Azure confidential-VM attesters `az-snp-vtpm` and `az-tdx-vtpm` (spec/evidence.md §7.4-7.5).
 * Both produce evidence version 2 from the vTPM ({@linkcode readAzVtpm}) plus the hardware
 * endorsement from Azure IMDS:
 *
 * - `az-snp-vtpm`: `{"version": 2, "tpm_quote": {signature, message, pcrs} (hex),
 *   "hcl_report": b64url, "vcek": b64url(DER)}`, the VCEK from IMDS THIM.
 * - `az-tdx-vtpm`: `{"version": 2, "tpm_quote", "hcl_report", "td_quote": b64url}`, the TD quote
 *   from IMDS for the TDREPORT in the HCL report.
 *
 * Init-data is bound in PCR 8 and runtime measurements extend SHA-256 PCRs, both through the
 * `tpm` attester's logic on the same vTPM (idempotent PCR 8, see README).
 */
import type { JsonValue } from "@coco/lib/json";
import { AZURE_AK_HANDLE, TpmClient, type TpmTarget } from "@coco/lib/tee/tpm";
import { TpmAttester } from "./tpm.ts";
import type { Attester, InitDataBinding, RuntimeRegisters } from "./types.ts";
import { type AzImdsOptions, imdsCertificates, imdsTdQuote } from "./az_imds.ts";
import { type AzVtpmReading, type HclRefresh, readAzVtpm, type UserDataHook } from "./az_vtpm.ts";

/** The two Azure vTPM TEEs. */
export type AzTee = "az-snp-vtpm" | "az-tdx-vtpm";

/** Options of the Azure vTPM attesters. */
export interface AzVtpmAttesterOptions {
  /** The vTPM; default `/dev/tpmrm0`. */
  target?: TpmTarget;
  /** Send TPM2_Startup first (a fresh swtpm). Default: only for socket targets. */
  startup?: boolean;
  /** IMDS base URL and fetch (tests point them at a loopback fake). */
  imds?: AzImdsOptions;
  /** How long to wait for the paravisor to refresh the HCL report. */
  hclRefresh?: HclRefresh;
  /**
   * Runs after the user data is written. Azure's paravisor refreshes the HCL report by itself;
   * tests with a swtpm pass a hook that does it.
   */
  afterUserDataWrite?: UserDataHook;
}

const TDREPORT_SIZE = 1024;
const EVIDENCE_VERSION = 2;
const b64url = (b: Uint8Array) => b.toBase64({ alphabet: "base64url" });

/** An Azure SEV-SNP or TDX confidential VM attester over its vTPM. */
export class AzVtpmAttester implements Attester {
  readonly additionalTees = [] as const;
  readonly registers: RuntimeRegisters;
  readonly #opts: AzVtpmAttesterOptions;
  readonly #target: TpmTarget;
  readonly #pcrs: TpmAttester;

  constructor(readonly tee: AzTee, options: AzVtpmAttesterOptions = {}) {
    this.#opts = options;
    this.#target = options.target ?? { device: "/dev/tpmrm0" };
    this.#pcrs = new TpmAttester({
      target: this.#target,
      akHandle: AZURE_AK_HANDLE,
      eventLogPath: null,
      ...(options.startup === undefined ? {} : { startup: options.startup }),
    });
    this.registers = this.#pcrs.registers;
  }

  async #readVtpm(reportData: Uint8Array): Promise<AzVtpmReading> {
    const tpm = await TpmClient.open(this.#target);
    try {
      if (this.#opts.startup ?? !("device" in this.#target)) await tpm.startup();
      return await readAzVtpm(tpm, reportData, this.tee === "az-snp-vtpm" ? "snp" : "tdx", {
        refresh: this.#opts.hclRefresh,
        afterWrite: this.#opts.afterUserDataWrite,
      });
    } finally {
      tpm.close();
    }
  }

  /** Evidence v2 for `reportData` (at most 64 bytes; the quote carries it unchanged). */
  async primaryEvidence(reportData: Uint8Array): Promise<JsonValue> {
    const r = await this.#readVtpm(reportData);
    const common = {
      version: EVIDENCE_VERSION,
      tpm_quote: r.tpmQuote,
      hcl_report: b64url(r.hclBytes),
    };
    if (this.tee === "az-snp-vtpm") {
      const { vcek } = await imdsCertificates(this.#opts.imds);
      return { ...common, vcek: b64url(vcek) };
    }
    const tdQuote = await imdsTdQuote(r.hcl.hwReport.subarray(0, TDREPORT_SIZE), this.#opts.imds);
    return { ...common, td_quote: b64url(tdQuote) };
  }

  additionalEvidence(): Promise<string> {
    return Promise.resolve("");
  }

  /** PCR 8 = SHA-256(0³² ‖ digest), extended once (matched on an AA restart). */
  bindInitData(digest: Uint8Array): Promise<InitDataBinding> {
    return this.#pcrs.bindInitData(digest);
  }

  /** Current SHA-256 PCR value. */
  readPcr(pcr: number): Promise<Uint8Array> {
    return this.#pcrs.readPcr(pcr);
  }
}
