/**
 * Evidence verifiers, one per TEE, behind one interface and one factory. Real-hardware verifiers
 * (snp, tdx, tpm, …) plug in here; asking for one that does not exist fails loudly.
 *
 * @module
 */
import type { Tee } from "@coco/lib/kbs";
import { SampleDeviceVerifier, SampleVerifier } from "./sample/mod.ts";
import { TdxVerifier } from "./tdx/mod.ts";
import { SnpVerifier } from "./snp/mod.ts";
import { TpmVerifier } from "./tpm/mod.ts";
import { AzSnpVtpmVerifier } from "./az_snp_vtpm/mod.ts";
import { AzTdxVtpmVerifier } from "./az_tdx_vtpm/mod.ts";
import { NvidiaVerifier } from "./nvidia/mod.ts";
import { CcaVerifier } from "./cca/mod.ts";
import type { Verifier, VerifierOptions } from "./types.ts";
import { VerifierError } from "./types.ts";

export * from "./types.ts";
export { SampleDeviceVerifier, SampleVerifier } from "./sample/mod.ts";

/** Returns the verifier for `tee`. */
export function createVerifier(tee: Tee, options: VerifierOptions = {}): Verifier {
  void options;
  switch (tee) {
    case "sample":
      return new SampleVerifier();
    case "sampledevice":
      return new SampleDeviceVerifier();
    case "tpm":
      return new TpmVerifier(options);
    case "az-snp-vtpm":
      return new AzSnpVtpmVerifier(options);
    case "az-tdx-vtpm":
      return new AzTdxVtpmVerifier(options);
    case "snp":
      return new SnpVerifier(options);
    case "tdx":
      return new TdxVerifier(options);
    case "nvidia":
      return new NvidiaVerifier(options);
    case "cca":
      return new CcaVerifier(options);
    case "sgx":
    case "csv":
    case "se":
    case "hygondcu":
      throw new VerifierError(
        "unsupported-tee",
        `Cannot verify ${tee} evidence: no ${tee} verifier in this build yet`,
      );
    default: {
      const never: never = tee;
      throw new VerifierError(
        "unsupported-tee",
        `Cannot verify evidence: unknown tee ${String(never)}`,
      );
    }
  }
}
