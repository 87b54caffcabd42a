/** The TEE names of kbs-types 0.18, spelled as on the wire (serde names). */
export const TEES = [
  "az-snp-vtpm",
  "az-tdx-vtpm",
  "nvidia",
  "sgx",
  "snp",
  "tdx",
  "cca",
  "csv",
  "se",
  "hygondcu",
  "tpm",
  "sample",
  "sampledevice",
] as const;

/** A TEE name as it appears in `/auth` requests, evidence maps and claims. */
export type Tee = typeof TEES[number];

/** True if `value` is one of the known TEE names. */
export function isTee(value: unknown): value is Tee {
  return typeof value === "string" && (TEES as readonly string[]).includes(value);
}
