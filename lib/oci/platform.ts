/**
 * Platforms (`os`/`architecture`/`variant`) with containerd's normalisation (`x86_64` → `amd64`,
 * `aarch64` → `arm64`, `arm64/v8` → `arm64`, `armhf` → `arm/v7` …) and the matcher that picks a
 * manifest out of an index.
 *
 * @module
 */
import { OciError } from "./errors.ts";

/** An OCI platform object (wire names). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/** Normalises a platform as containerd's `platforms.Normalize` does. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase() === "macos" ? "darwin" : p.os.toLowerCase();
  let arch = p.architecture.toLowerCase();
  let variant = (p.variant ?? "").toLowerCase();
  switch (arch) {
    case "i386":
      arch = "386";
      variant = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      arch = "amd64";
      if (variant === "v1") variant = "";
      break;
    case "aarch64":
    case "arm64":
      arch = "arm64";
      if (variant === "8" || variant === "v8" || variant === "v8.0") variant = "";
      break;
    case "armhf":
      arch = "arm";
      variant = "v7";
      break;
    case "armel":
      arch = "arm";
      variant = "v6";
      break;
    case "arm":
      if (variant === "") variant = "v7";
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
  }
  const out: Platform = { os, architecture: arch };
  if (variant !== "") out.variant = variant;
  if (p["os.version"] !== undefined) out["os.version"] = p["os.version"];
  if (p["os.features"] !== undefined) out["os.features"] = p["os.features"];
  return out;
}

/** `os/arch[/variant]` of a platform. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join("/");
}

/** Parses `os/arch[/variant]` (as `--platform` takes it) and normalises it. */
export function parsePlatform(s: string): Platform {
  const parts = s.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => !/^[A-Za-z0-9._-]+$/.test(x))) {
    throw new OciError("invalid_platform", `Invalid platform "${s}": expected os/arch[/variant]`);
  }
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2] !== undefined) p.variant = parts[2];
  return normalizePlatform(p);
}

/** The platform this process runs on (linux is assumed for the guest). */
export function hostPlatform(arch: string = Deno.build.arch): Platform {
  return normalizePlatform({ os: "linux", architecture: arch });
}

/**
 * True when `candidate` can run on `want`: same normalised os and architecture, and the variant
 * equal when `want` names one. On arm, a lower variant also runs (v7 runs v6 and v5).
 */
export function platformMatches(want: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(want);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return false;
  if (w.variant === undefined || w.variant === c.variant) return true;
  if (w.architecture === "arm" && c.variant !== undefined) {
    return Number(c.variant.slice(1)) <= Number(w.variant.slice(1));
  }
  return false;
}

/**
 * Picks the best entry for `want` among `items`: an exact variant match first, then the highest
 * compatible arm variant, then the first compatible entry. Undefined when none matches.
 */
export function selectPlatform<T extends { platform?: Platform | undefined }>(
  items: readonly T[],
  want: Platform,
): T | undefined {
  const w = normalizePlatform(want);
  const ok = items.filter((i) => i.platform !== undefined && platformMatches(w, i.platform));
  const variantOf = (i: T) => normalizePlatform(i.platform!).variant;
  return ok.find((i) => variantOf(i) === w.variant) ??
    [...ok].sort((a, b) => (variantOf(b) ?? "").localeCompare(variantOf(a) ?? ""))[0];
}
