/**
 * Chooses the attester at start-up from the command line, the environment and the config file.
 * Precedence: `--tee` flag, then env `COCO_TEE`, then the config's `tee` key, then detection.
 * The TPM is configured by `[aa.tpm]` (`device`, `ak_handle`) or, as upstream, env
 * `AA_TPM_DEVICE` / `AA_TPM_AK_HANDLE` (env wins). The AA event log path is env `AAEL_PATH`.
 */
import type { TpmTarget } from "@coco/lib/tee/tpm";
import type { AttesterConfig } from "./mod.ts";
import {
  detectTee,
  findTpmDevice,
  SEV_GUEST_DIR,
  TDX_GUEST_DEVICE,
  type TeeProbes,
  TPM_DEVICES,
  TSM_REPORT_DIR,
} from "./detect.ts";
import { AttesterError } from "./errors.ts";
import { DEFAULT_AAEL_PATH } from "./sample.ts";

/** TPM settings from a config file (`[aa.tpm]`). */
export interface TpmSelection {
  /** `/dev/tpmrm0`, `unix:///path/to/swtpm.sock` or `tcp://host:port`. */
  device?: string | undefined;
  /** Persistent AK handle, e.g. `0x81010002`. */
  akHandle?: number | undefined;
}

/** Where the TEE choice may come from. */
export interface TeeSelection {
  /** `--tee` on the command line. */
  flag?: string | undefined;
  /** `tee` key of the config file. */
  config?: string | undefined;
  /** TPM options of the config file. */
  tpm?: TpmSelection | undefined;
  /** Environment (reads `COCO_TEE`, `ENABLE_SAMPLE_DEVICE`, `AA_TPM_*`, `AAEL_PATH`). */
  env?: { get(name: string): string | undefined };
  probes?: TeeProbes;
}

/** TEEs that exist upstream but have no attester in this build. */
const NOT_IN_BUILD = new Set(["sgx", "csv", "se"]);
const SUPPORTED = "sample, tdx, az-tdx-vtpm, az-snp-vtpm, snp, cca, tpm";

/** Parses `AA_TPM_DEVICE` / `[aa.tpm] device`: a device path or a swtpm socket URL. */
export function parseTpmTarget(text: string): TpmTarget {
  if (text.startsWith("unix://")) return { socket: text.slice("unix://".length) };
  if (text.startsWith("unix:")) return { socket: text.slice("unix:".length) };
  const tcp = /^tcp:\/\/([^:/]+):(\d{1,5})$/.exec(text);
  if (tcp) return { hostname: tcp[1]!, port: Number(tcp[2]) };
  if (text.startsWith("/")) return { device: text };
  throw new AttesterError(
    "bad-tpm-config",
    `Invalid TPM device \`${text}\`: expected a /dev path, unix:///socket or tcp://host:port`,
  );
}

/** Parses `AA_TPM_AK_HANDLE` (hex, with or without 0x) into a persistent handle. */
export function parseAkHandle(text: string): number {
  const m = /^(?:0x)?([0-9a-f]{8})$/i.exec(text.trim());
  const n = m ? parseInt(m[1]!, 16) : NaN;
  if (!(n >= 0x81000000 && n <= 0x81ffffff)) {
    throw new AttesterError(
      "bad-tpm-config",
      `Invalid TPM AK handle \`${text}\`: expected a persistent handle 0x81000000–0x81ffffff`,
    );
  }
  return n;
}

async function tpmConfig(sel: TeeSelection, env: NonNullable<TeeSelection["env"]>) {
  const deviceText = env.get("AA_TPM_DEVICE") || sel.tpm?.device ||
    await findTpmDevice(sel.probes);
  if (!deviceText) {
    throw new AttesterError(
      "no-tee",
      `Cannot use TEE \`tpm\`: no TPM found (checked ${TPM_DEVICES.join(", ")}); ` +
        "set AA_TPM_DEVICE or [aa.tpm] device",
    );
  }
  const handleText = env.get("AA_TPM_AK_HANDLE");
  const akHandle = handleText ? parseAkHandle(handleText) : sel.tpm?.akHandle;
  return {
    tee: "tpm" as const,
    target: parseTpmTarget(deviceText),
    ...(akHandle !== undefined ? { akHandle } : {}),
    aaelPath: env.get("AAEL_PATH") || DEFAULT_AAEL_PATH,
  };
}

/** Azure vTPM: the TPM from env `AA_TPM_DEVICE`, `[aa.tpm] device`, else `/dev`. */
async function azConfig(
  tee: "az-snp-vtpm" | "az-tdx-vtpm",
  sel: TeeSelection,
  env: NonNullable<TeeSelection["env"]>,
): Promise<AttesterConfig> {
  const deviceText = env.get("AA_TPM_DEVICE") || sel.tpm?.device ||
    await findTpmDevice(sel.probes);
  if (!deviceText) {
    throw new AttesterError(
      "no-tee",
      `Cannot use TEE \`${tee}\`: no vTPM found (checked ${TPM_DEVICES.join(", ")}); ` +
        "set AA_TPM_DEVICE or [aa.tpm] device",
    );
  }
  return { tee, target: parseTpmTarget(deviceText) };
}

async function configFor(
  tee: string,
  sel: TeeSelection,
  env: NonNullable<TeeSelection["env"]>,
): Promise<AttesterConfig> {
  const aaelPath = env.get("AAEL_PATH") || DEFAULT_AAEL_PATH;
  switch (tee) {
    case "sample":
      return { tee: "sample", withDevice: env.get("ENABLE_SAMPLE_DEVICE") !== undefined, aaelPath };
    case "tdx":
      return { tee: "tdx", aaelPath };
    case "snp":
      return { tee: "snp" };
    case "cca":
      return { tee: "cca" };
    case "tpm":
      return await tpmConfig(sel, env);
    case "az-snp-vtpm":
    case "az-tdx-vtpm":
      return await azConfig(tee, sel, env);
  }
  throw new AttesterError(
    NOT_IN_BUILD.has(tee) ? "unsupported-tee" : "unknown-tee",
    NOT_IN_BUILD.has(tee)
      ? `Cannot use TEE \`${tee}\`: its attester is not in this build (supported: ${SUPPORTED})`
      : `Cannot use TEE \`${tee}\`: unknown TEE (supported: ${SUPPORTED})`,
  );
}

/** Resolves the attester config, or throws {@linkcode AttesterError} saying what to do. */
export async function resolveAttesterConfig(sel: TeeSelection = {}): Promise<AttesterConfig> {
  const env = sel.env ?? Deno.env;
  const chosen = sel.flag ?? (env.get("COCO_TEE") || undefined) ?? sel.config;
  if (chosen !== undefined) return await configFor(chosen, sel, env);
  const found = await detectTee(sel.probes, env.get("AA_TPM_DEVICE") || sel.tpm?.device);
  if (found) return await configFor(found, sel, env);
  throw new AttesterError(
    "no-tee",
    `No TEE detected (checked ${TSM_REPORT_DIR}, ${TDX_GUEST_DEVICE}, the vTPM HCL report, ` +
      `${SEV_GUEST_DIR}, ${TPM_DEVICES.join(", ")}); pass --tee sample (or COCO_TEE=sample) ` +
      "for development",
  );
}
