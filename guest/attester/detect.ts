/**
 * TEE detection in upstream order (spec/guest.md §1.3): TDX (configfs TSM provider `tdx_guest` or
 * `/dev/tdx_guest`), SEV-SNP (`/sys/devices/platform/sev-guest`), Arm CCA (TSM provider
 * `arm_cca_guest`). Probes are injected so tests need no hardware.
 */
import { pathExists } from "@coco/lib/fs";

/** Paths probed, in order. */
export const TSM_REPORT_DIR = "/sys/kernel/config/tsm/report";
export const TDX_GUEST_DEVICE = "/dev/tdx_guest";
export const SEV_GUEST_DIR = "/sys/devices/platform/sev-guest";

/** A TEE that detection can find. */
export type DetectedTee = "tdx" | "snp" | "cca";

/** File-system probes used by {@linkcode detectTee}. */
export interface TeeProbes {
  exists(path: string): Promise<boolean>;
  /** The configfs TSM `provider` (e.g. `tdx_guest`), or undefined when unreadable. */
  tsmProvider(): Promise<string | undefined>;
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

/** Probes against the real file system. */
export const denoTeeProbes: TeeProbes = { exists: pathExists, tsmProvider };

/** The first TEE found in upstream order, or undefined. Never returns `sample`. */
export async function detectTee(
  probes: TeeProbes = denoTeeProbes,
): Promise<DetectedTee | undefined> {
  const provider = await probes.tsmProvider();
  if (provider === "tdx_guest" || await probes.exists(TDX_GUEST_DEVICE)) return "tdx";
  if (await probes.exists(SEV_GUEST_DIR)) return "snp";
  if (provider === "arm_cca_guest") return "cca";
  return undefined;
}
