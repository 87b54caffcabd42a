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

export { AttesterError, type AttesterErrorCode } from "./errors.ts";
export { denoTeeProbes, type DetectedTee, detectTee, type TeeProbes } from "./detect.ts";
export { resolveAttesterConfig, type TeeSelection } from "./resolve.ts";

/** Which attester to build. A discriminated union on `tee`; real TEEs join it later. */
export type AttesterConfig = { tee: "sample"; withDevice?: boolean };

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
    default: {
      const never: never = config.tee;
      throw new TypeError(`Cannot create attester: unknown TEE ${JSON.stringify(never)}`);
    }
  }
}
