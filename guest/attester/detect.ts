/**
 * TEE detection in upstream order (spec/guest.md §1.3): TDX (configfs TSM provider `tdx_guest` or
 * `/dev/tdx_guest`), Azure TDX then Azure SNP vTPM (the vTPM's HCL report type), SEV-SNP
 * (`/sys/devices/platform/sev-guest`), Arm CCA (TSM provider `arm_cca_guest`), then a plain TPM
 * (env `AA_TPM_DEVICE`, else the first of `/dev/tpm0..2`). SGX, CSV and IBM SE sit between them
 * upstream; this build has no attester for them and does not probe them (see README). Probes
 * are injected so tests need no hardware.
 */
import { pathExists } from "@coco/lib/fs";
import { azureHclType } from "./az_detect.ts";

/** Paths probed, in order. */
export const TSM_REPORT_DIR = "/sys/kernel/config/tsm/report";
export const TDX_GUEST_DEVICE = "/dev/tdx_guest";
export const SEV_GUEST_DIR = "/sys/devices/platform/sev-guest";
/** TPM character devices probed (upstream probes `/dev/tpm0..2`). */
export const TPM_DEVICES = ["/dev/tpm0", "/dev/tpm1", "/dev/tpm2"] as const;

/** A TEE that detection can find. */
export type DetectedTee = "tdx" | "az-tdx-vtpm" | "az-snp-vtpm" | "snp" | "cca" | "tpm";

/** File-system probes used by {@linkcode detectTee}. */
export interface TeeProbes {
  exists(path: string): Promise<boolean>;
  /** The configfs TSM `provider` (e.g. `tdx_guest`), or undefined when unreadable. */
  tsmProvider(): Promise<string | undefined>;
  /**
   * The report type of the Azure vTPM HCL report (NV index 0x01400001) of the TPM `device`
   * (`AA_TPM_DEVICE`, else the one found under /dev), or undefined when there is none. Absent:
   * not an Azure CVM.
   */
  azureHclType?(device: string | undefined): Promise<"snp" | "tdx" | undefined>;
}

async function tsmProvider(): Promise<string | undefined> {
  if (!await pathExists(TSM_REPORT_DIR)) return undefined;
  let dir: string | undefined;
  try {
    dir = await Deno.makeTempDir({ dir: TSM_REPORT_DIR, prefix: "coco-probe-" });
    return (await Deno.readTextFile(`${dir}/provider`)).trim();
  } catch {
    return undefined;
  } finally {
    if (dir) await Deno.remove(dir).catch(() => {});
  }
}

/** Probes against the real file system and TPM (only `/dev` TPMs are probed for Azure). */
export const denoTeeProbes: TeeProbes = {
  exists: pathExists,
  tsmProvider,
  azureHclType: async (device) => {
    const dev = device ?? await findTpmDevice(denoTeeProbes);
    return dev?.startsWith("/") ? await azureHclType({ device: dev }) : undefined;
  },
};

/**
 * The TPM device to use: the resource manager `/dev/tpmrmN` next to the first `/dev/tpmN` found
 * (the raw device when there is no resource manager), or undefined.
 */
export async function findTpmDevice(probes: TeeProbes = denoTeeProbes) {
  for (const dev of TPM_DEVICES) {
    if (!await probes.exists(dev)) continue;
    const rm = dev.replace("/dev/tpm", "/dev/tpmrm");
    return await probes.exists(rm) ? rm : dev;
  }
  return undefined;
}

/**
 * The first TEE found in upstream order, or undefined. Never returns `sample`. `tpmDevice`
 * (env `AA_TPM_DEVICE`) makes the TPM count as present without probing `/dev`.
 */
export async function detectTee(
  probes: TeeProbes = denoTeeProbes,
  tpmDevice?: string,
): Promise<DetectedTee | undefined> {
  const provider = await probes.tsmProvider();
  if (provider === "tdx_guest" || await probes.exists(TDX_GUEST_DEVICE)) return "tdx";
  const azure = await probes.azureHclType?.(tpmDevice);
  if (azure === "tdx") return "az-tdx-vtpm";
  if (azure === "snp") return "az-snp-vtpm";
  if (await probes.exists(SEV_GUEST_DIR)) return "snp";
  if (provider === "arm_cca_guest") return "cca";
  if (tpmDevice || await findTpmDevice(probes)) return "tpm";
  return undefined;
}
