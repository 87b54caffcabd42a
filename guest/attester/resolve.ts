/**
 * Chooses the attester at start-up from the command line, the environment and the config file.
 * Precedence: `--tee` flag, then env `COCO_TEE`, then the config's `tee` key, then detection.
 */
import type { AttesterConfig } from "./mod.ts";
import {
  detectTee,
  SEV_GUEST_DIR,
  TDX_GUEST_DEVICE,
  type TeeProbes,
  TSM_REPORT_DIR,
} from "./detect.ts";
import { AttesterError } from "./errors.ts";

/** Where the TEE choice may come from. */
export interface TeeSelection {
  /** `--tee` on the command line. */
  flag?: string | undefined;
  /** `tee` key of the config file. */
  config?: string | undefined;
  /** Environment (reads `COCO_TEE`, `ENABLE_SAMPLE_DEVICE`). */
  env?: { get(name: string): string | undefined };
  probes?: TeeProbes;
}

/** Resolves the attester config, or throws {@linkcode AttesterError} saying what to do. */
export async function resolveAttesterConfig(sel: TeeSelection = {}): Promise<AttesterConfig> {
  const env = sel.env ?? Deno.env;
  const chosen = sel.flag ?? (env.get("COCO_TEE") || undefined) ?? sel.config;
  const withDevice = env.get("ENABLE_SAMPLE_DEVICE") !== undefined;
  if (chosen !== undefined) {
    if (chosen === "sample") return { tee: "sample", withDevice };
    throw new AttesterError(
      "unknown-tee",
      `Cannot use TEE \`${chosen}\`: only \`sample\` is supported in this version`,
    );
  }
  const found = await detectTee(sel.probes);
  if (found) {
    throw new AttesterError(
      "unsupported-tee",
      `TEE \`${found}\` detected but its attester is not supported yet; ` +
        "pass --tee sample (or COCO_TEE=sample) only for development without a real TEE",
    );
  }
  throw new AttesterError(
    "no-tee",
    `No TEE detected (checked ${TSM_REPORT_DIR}, ${TDX_GUEST_DEVICE}, ${SEV_GUEST_DIR}); ` +
      "pass --tee sample (or COCO_TEE=sample) for development",
  );
}
