/**
 * Attesters: the plug-in that turns report data into TEE evidence for the Attestation Agent,
 * binds init-data to the hardware and extends runtime-measurement registers.
 *
 * An attester is an {@linkcode Attester} built by {@linkcode createAttester} from a discriminated
 * config: `sample` (development), `tdx` and `snp` (configfs-tsm), `tpm` (TPM 2.0 device or
 * swtpm socket), `az-snp-vtpm` and `az-tdx-vtpm` (Azure confidential VMs: vTPM + IMDS). {@linkcode resolveAttesterConfig} picks one from flag, env, config or
 * {@linkcode detectTee} (upstream probe order). There is no silent fallback to `sample`: it is
 * used only when asked for.
 *
 * @module
 */
import { tdxAttester } from "./tdx.ts";
import { CcaAttester, type CcaAttesterOptions } from "./cca.ts";
import { TpmAttester, type TpmAttesterOptions } from "./tpm.ts";
import { SnpAttester, type SnpAttesterOptions } from "./snp.ts";
import { sampleAttester, type SampleAttesterOptions } from "./sample.ts";
import { AzVtpmAttester, type AzVtpmAttesterOptions } from "./az_attester.ts";
import type { Attester } from "./types.ts";

export { AttesterError, type AttesterErrorCode } from "./errors.ts";
export {
  denoTeeProbes,
  type DetectedTee,
  detectTee,
  findTpmDevice,
  type TeeProbes,
} from "./detect.ts";
export {
  parseAkHandle,
  parseTpmTarget,
  resolveAttesterConfig,
  type TeeSelection,
  type TpmSelection,
} from "./resolve.ts";
export { TpmAttester, type TpmAttesterOptions } from "./tpm.ts";
export { SnpAttester, SnpAttesterError, type SnpAttesterOptions } from "./snp.ts";
export { DEFAULT_AAEL_PATH, sampleAttester, type SampleAttesterOptions } from "./sample.ts";
export { tdxAttester, tdxCcMrOfPcr } from "./tdx.ts";
export { type AzTee, AzVtpmAttester, type AzVtpmAttesterOptions } from "./az_attester.ts";
export { AzVtpmError, type AzVtpmErrorCode } from "./az_errors.ts";
export {
  type AzImdsOptions,
  AZURE_IMDS_URL,
  IMDS_TDQUOTE_PATH,
  IMDS_VCEK_PATH,
} from "./az_imds.ts";
export { AZ_USER_DATA_SIZE, type HclRefresh, type UserDataHook } from "./az_vtpm.ts";
export {
  type Attester,
  type InitDataBinding,
  InitDataBindingError,
  type InitDataErrorCode,
  type RuntimeRegisters,
} from "./types.ts";

/** Which attester to build: a discriminated union on `tee`. */
export type AttesterConfig =
  | ({ tee: "sample" } & SampleAttesterOptions)
  | ({ tee: "tpm" } & TpmAttesterOptions)
  | { tee: "tdx"; root?: string; aaelPath?: string }
  | ({ tee: "snp" } & SnpAttesterOptions)
  | ({ tee: "cca" } & CcaAttesterOptions)
  | ({ tee: "az-snp-vtpm" } & AzVtpmAttesterOptions)
  | ({ tee: "az-tdx-vtpm" } & AzVtpmAttesterOptions);

/**
 * Builds the attester for `config`.
 *
 * @example
 * ```ts
 * const attester = createAttester({ tee: "sample", withDevice: false, aaelPath: null });
 * const evidence = await attester.primaryEvidence(new Uint8Array(32));
 * ```
 */
export function createAttester(config: AttesterConfig): Attester {
  switch (config.tee) {
    case "sample": {
      const { tee: _, ...options } = config;
      return sampleAttester(options);
    }
    case "tdx":
      return tdxAttester({
        ...(config.root ? { root: config.root } : {}),
        ...(config.aaelPath ? { aaelPath: config.aaelPath } : {}),
      });
    case "tpm":
      return new TpmAttester(config);
    case "snp":
      return new SnpAttester(config);
    case "cca":
      return new CcaAttester(config);
    case "az-snp-vtpm":
    case "az-tdx-vtpm": {
      const { tee, ...options } = config;
      return new AzVtpmAttester(tee, options);
    }
    default: {
      const never: never = config;
      throw new TypeError(
        `Cannot create attester: unknown TEE ${JSON.stringify((never as { tee: string }).tee)}`,
      );
    }
  }
}
