/**
 * The `az-tdx-vtpm` verifier (spec/evidence.md §7.5): Azure TDX confidential VMs. The vTPM
 * quote is signed by the HCL report's AK; the TD quote (fetched by the guest from Azure IMDS for
 * the HCL's TDREPORT) is verified by the `tdx` verifier's {@linkcode verifyTdxQuote} (signatures,
 * PCK chain, and DCAP collateral when a collateral source is configured) and its REPORTDATA
 * [0..32] must be SHA-256 of the HCL variable data. See README.md.
 *
 * @module
 */
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual } from "@coco/lib/bytes";
import type { TdxQuote } from "@coco/lib/tee/tdx";
import type { VerifiedClaims, Verifier, VerifierOptions, VerifyInput } from "../types.ts";
import { VerifierError } from "../types.ts";
import { verifyTdxQuote } from "../tdx/mod.ts";
import { azTpmClaims, parseAzEvidence, verifyAzTpm, verifyUserData } from "../tpm/azure.ts";

/** Checks a TD quote; injected in tests. */
export type TdxQuoteCheck = (
  quote: Uint8Array,
  options: VerifierOptions,
) => Promise<{ quote: TdxQuote; claims: Record<string, JsonValue> }>;

/** Verifier for Azure TDX vTPM evidence. */
export class AzTdxVtpmVerifier implements Verifier {
  readonly tee = "az-tdx-vtpm" as const;
  readonly #options: VerifierOptions;
  readonly #checkQuote: TdxQuoteCheck;

  constructor(options: VerifierOptions = {}, checkQuote: TdxQuoteCheck = verifyTdxQuote) {
    this.#options = options;
    this.#checkQuote = checkQuote;
  }

  async evaluate(input: VerifyInput): Promise<VerifiedClaims[]> {
    const ev = parseAzEvidence(this.tee, input.evidence);
    const tpm = await verifyAzTpm(this.tee, ev, input);
    const td = await this.#checkQuote(ev.hardware as Uint8Array, this.#options);
    if (!bytesEqual(td.quote.body.reportData.subarray(0, 32), tpm.varDataHash)) {
      throw new VerifierError(
        "report-data-mismatch",
        "Cannot verify az-tdx-vtpm evidence: TDX Quote report data mismatch: REPORTDATA[0..32] " +
          "is not SHA-256 of the HCL variable data (the AK is not bound to the TD)",
      );
    }
    verifyUserData(this.tee, ev, tpm.hcl, input.reportData!);
    const claims = { ...td.claims, ...await azTpmClaims(this.tee, tpm, input.initDataHash) };
    return [{ claims, teeClass: "cpu" }];
  }
}
