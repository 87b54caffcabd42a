/**
 * The sample TEE attester (development only) with the AA event log: the evidence of
 * `@coco/lib/tee` (`{"svn":"1","report_data":"<b64>"}`) plus `"aa_eventlog"` (std base64 of the
 * AAEL file) when runtime measurements were recorded. The sample TEE has no registers, so
 * ExtendRuntimeMeasurement only appends to the log, and no init-data field, so init-data is not
 * bound (the AA logs a warning and starts). Upstream sample verifiers ignore the extra field.
 */
import type { JsonValue } from "@coco/lib/json";
import { ALG_SHA384 } from "@coco/lib/eventlog";
import { sampleEvidenceProvider } from "@coco/lib/tee";
import type { Attester, InitDataBinding, RuntimeRegisters } from "./types.ts";

/** Default AA event log (`AAEL_PATH` overrides it, as upstream). */
export const DEFAULT_AAEL_PATH = "/run/attestation-agent/eventlog";

/** Options of the sample attester. */
export interface SampleAttesterOptions {
  /** Add a `sampledevice` additional device (env `ENABLE_SAMPLE_DEVICE`). */
  withDevice?: boolean;
  /** AA event log to include; default {@linkcode DEFAULT_AAEL_PATH}; `null` leaves it out. */
  aaelPath?: string | null;
}

/** Reads a file, or undefined when it does not exist or is empty. */
export async function readIfPresent(path: string): Promise<Uint8Array | undefined> {
  try {
    const bytes = await Deno.readFile(path);
    return bytes.length > 0 ? bytes : undefined;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Log-only registers: AAEL entries hashed with SHA-384 and indexed by the PCR number. */
const LOG_ONLY: RuntimeRegisters = {
  algId: ALG_SHA384,
  supported: () => Promise.resolve(true),
  logIndex: (pcr) => pcr,
  extend: () => Promise.resolve(),
  read: () => Promise.resolve(undefined),
};

/** Builds the sample attester. */
export function sampleAttester(options: SampleAttesterOptions = {}): Attester {
  const base = sampleEvidenceProvider({ withDevice: options.withDevice ?? false });
  const aaelPath = options.aaelPath === undefined ? DEFAULT_AAEL_PATH : options.aaelPath;
  return {
    tee: base.tee,
    additionalTees: base.additionalTees,
    additionalEvidence: (rd) => base.additionalEvidence(rd),
    async primaryEvidence(rd): Promise<JsonValue> {
      const evidence = await base.primaryEvidence(rd) as Record<string, JsonValue>;
      const log = aaelPath === null ? undefined : await readIfPresent(aaelPath);
      return log ? { ...evidence, aa_eventlog: log.toBase64() } : evidence;
    },
    bindInitData(): Promise<InitDataBinding> {
      return Promise.resolve({
        status: "unsupported",
        reason: "the sample TEE has no hardware field for init-data; it is sent to the KBS but " +
          "not bound to any measurement",
      });
    },
    registers: LOG_ONLY,
  };
}
