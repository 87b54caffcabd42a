/**
 * Attesters: the plug-in that turns report data into TEE evidence for the Attestation Agent.
 *
 * An attester is an {@linkcode EvidenceProvider} built by {@linkcode createAttester} from a
 * discriminated config. Only the `sample` TEE exists today; {@linkcode detectTee} finds real TEEs
 * in upstream's probe order so that start-up can say which one is present but not supported yet.
 * There is no silent fallback to `sample`: it is used only when asked for.
 *
 * @module
 */
import type { EvidenceProvider } from "@coco/lib/tee";
import { sampleEvidenceProvider } from "@coco/lib/tee";
import { tdxEvidenceProvider } from "./tdx.ts";
import { TpmAttester, type TpmAttesterOptions } from "./tpm.ts";
import { SnpAttester, type SnpAttesterOptions } from "./snp.ts";

export { AttesterError, type AttesterErrorCode } from "./errors.ts";
export { denoTeeProbes, type DetectedTee, detectTee, type TeeProbes } from "./detect.ts";
export { resolveAttesterConfig, type TeeSelection } from "./resolve.ts";
export { TpmAttester, type TpmAttesterOptions } from "./tpm.ts";
export { SnpAttester, SnpAttesterError, type SnpAttesterOptions } from "./snp.ts";

/** Which attester to build. A discriminated union on `tee`; real TEEs join it later. */
export type AttesterConfig =
  | { tee: "sample"; withDevice?: boolean }
  | ({ tee: "tpm" } & TpmAttesterOptions)
  | { tee: "tdx"; root?: string; aaelPath?: string }
  | ({ tee: "snp" } & SnpAttesterOptions);

/**
 * Builds the evidence provider for `config`.
 *
 * @example
 * ```ts
 * const attester = createAttester({ tee: "sample", withDevice: false });
 * const evidence = await attester.primaryEvidence(new Uint8Array(32));
 * ```
 */
export function createAttester(config: AttesterConfig): EvidenceProvider {
  switch (config.tee) {
    case "sample":
      return sampleEvidenceProvider({ withDevice: config.withDevice ?? false });
    case "tdx":
      return tdxEvidenceProvider({
        ...(config.root ? { root: config.root } : {}),
        ...(config.aaelPath ? { aaelPath: config.aaelPath } : {}),
      });
    case "tpm":
      return new TpmAttester(config);
    case "snp":
      return new SnpAttester(config);
    default: {
      const never: never = config;
      throw new TypeError(
        `Cannot create attester: unknown TEE ${JSON.stringify((never as { tee: string }).tee)}`,
      );
    }
  }
}
