/** Decoded bits of the SNP guest POLICY, PLATFORM_INFO and KEY_INFO fields. */

const bit = (v: bigint, n: number) => ((v >> BigInt(n)) & 1n) === 1n;

/** Guest policy fields Trustee turns into claims. */
export interface SnpGuestPolicy {
  abiMinor: number;
  abiMajor: number;
  smtAllowed: boolean;
  migrateMa: boolean;
  debugAllowed: boolean;
  singleSocket: boolean;
}

/** Decodes POLICY bits 0-20. */
export function decodeGuestPolicy(policy: bigint): SnpGuestPolicy {
  return {
    abiMinor: Number(policy & 0xffn),
    abiMajor: Number((policy >> 8n) & 0xffn),
    smtAllowed: bit(policy, 16),
    migrateMa: bit(policy, 18),
    debugAllowed: bit(policy, 19),
    singleSocket: bit(policy, 20),
  };
}

/** PLATFORM_INFO flags. */
export interface SnpPlatformInfo {
  smtEnabled: boolean;
  tsmeEnabled: boolean;
  eccEnabled: boolean;
  raplDisabled: boolean;
  ciphertextHiding: boolean;
}

/** Decodes PLATFORM_INFO bits 0-4. */
export function decodePlatformInfo(info: bigint): SnpPlatformInfo {
  return {
    smtEnabled: bit(info, 0),
    tsmeEnabled: bit(info, 1),
    eccEnabled: bit(info, 2),
    raplDisabled: bit(info, 3),
    ciphertextHiding: bit(info, 4),
  };
}

/** Which key signed the report (KEY_INFO bits 4:2). */
export type SnpSigningKey = "vcek" | "vlek" | "none" | "reserved";

/** KEY_INFO flags. */
export interface SnpKeyInfo {
  authorKeyEnabled: boolean;
  /** CHIP_ID is zeroed (MASK_CHIP_KEY). */
  maskChipKey: boolean;
  signingKey: SnpSigningKey;
}

/** Decodes KEY_INFO. */
export function decodeKeyInfo(keyInfo: number): SnpKeyInfo {
  const k = (keyInfo >>> 2) & 7;
  return {
    authorKeyEnabled: (keyInfo & 1) === 1,
    maskChipKey: (keyInfo & 2) === 2,
    signingKey: k === 0 ? "vcek" : k === 1 ? "vlek" : k === 7 ? "none" : "reserved",
  };
}
