/**
 * TEE evidence producers shared by the guest and the trustee client: the `EvidenceProvider`
 * interface used by the KBS client, and the sample TEE.
 *
 * @module
 */
import type { JsonValue } from "../json/mod.ts";
import type { Tee } from "../kbs/tee.ts";
import { sampleDeviceEvidence, sampleEvidence } from "./sample.ts";

export { sampleDeviceEvidence, sampleEvidence } from "./sample.ts";

/** Produces evidence binding the given report data. */
export interface EvidenceProvider {
  readonly tee: Tee;
  /** Names of additional device TEEs (may be empty). */
  readonly additionalTees: readonly Tee[];
  primaryEvidence(reportData: Uint8Array): Promise<JsonValue>;
  /** JSON text of `{ "<tee>": evidence }` for the devices, or `""` when there are none. */
  additionalEvidence(reportData: Uint8Array): Promise<string>;
}

/** The sample TEE, optionally with a `sampledevice` additional device. */
export function sampleEvidenceProvider(options: { withDevice?: boolean } = {}): EvidenceProvider {
  return {
    tee: "sample",
    additionalTees: options.withDevice ? ["sampledevice"] : [],
    primaryEvidence: (rd) => Promise.resolve(sampleEvidence(rd)),
    additionalEvidence: (rd) =>
      Promise.resolve(
        options.withDevice ? JSON.stringify({ sampledevice: sampleDeviceEvidence(rd) }) : "",
      ),
  };
}
