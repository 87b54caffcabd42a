/**
 * AR4SI trust vectors and EAR status tiers, as rust-ear computes them (spec/trustee.md §4.2).
 */

/** The eight trustworthiness claims, as JSON member names. */
export const TRUST_CLAIMS = [
  "instance-identity",
  "configuration",
  "executables",
  "file-system",
  "hardware",
  "runtime-opaque",
  "storage-opaque",
  "sourced-data",
] as const;
export type TrustClaim = typeof TRUST_CLAIMS[number];
export type TrustVector = Partial<Record<TrustClaim, number>>;

export type EarStatus = "none" | "affirming" | "warning" | "contraindicated";
const RANK: Record<EarStatus, number> = { none: 0, affirming: 1, warning: 2, contraindicated: 3 };

/** Tier of one claim value: |v|≤1 none, [-32,32) affirming, [-96,96) warning, else contraindicated. */
export function tierOf(value: number): EarStatus {
  if (value >= -1 && value <= 1) return "none";
  if (value >= -32 && value < 32) return "affirming";
  if (value >= -96 && value < 96) return "warning";
  return "contraindicated";
}

/** Worst tier over all claims that were set; `none` when none were. */
export function statusOf(vector: TrustVector): EarStatus {
  let worst: EarStatus = "none";
  for (const v of Object.values(vector)) {
    const t = tierOf(v);
    if (RANK[t] > RANK[worst]) worst = t;
  }
  return worst;
}

/** True if `name` is a trust claim name. */
export function isTrustClaim(name: string): name is TrustClaim {
  return (TRUST_CLAIMS as readonly string[]).includes(name);
}
