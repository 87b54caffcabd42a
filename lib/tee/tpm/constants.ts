/** TPM 2.0 constants used by this module (TPM 2.0 Library Part 2, big-endian wire values). */

/** Algorithm identifiers (TPM_ALG_ID). */
export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  SM3_256: 0x0012,
  RSASSA: 0x0014,
  RSAPSS: 0x0016,
  ECDSA: 0x0018,
  ECDAA: 0x001a,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CFB: 0x0043,
} as const;

/** ECC curve identifiers (TPM_ECC_CURVE). */
export const TPM_ECC = { NIST_P256: 0x0003, NIST_P384: 0x0004, NIST_P521: 0x0005 } as const;

/** Structure tags (TPM_ST). */
export const TPM_ST = {
  NO_SESSIONS: 0x8001,
  SESSIONS: 0x8002,
  ATTEST_QUOTE: 0x8018,
} as const;

/** TPM_GENERATED_VALUE: the magic at the start of every TPMS_ATTEST. */
export const TPM_GENERATED_VALUE = 0xff544347;

/** Command codes (TPM_CC). */
export const TPM_CC = {
  NV_UndefineSpace: 0x0122,
  NV_DefineSpace: 0x012a,
  EvictControl: 0x0120,
  NV_Write: 0x0137,
  NV_Read: 0x014e,
  CreatePrimary: 0x0131,
  Startup: 0x0144,
  Quote: 0x0158,
  FlushContext: 0x0165,
  NV_ReadPublic: 0x0169,
  ReadPublic: 0x0173,
  GetRandom: 0x017b,
  PCR_Read: 0x017e,
  PCR_Extend: 0x0182,
} as const;

/** Permanent handles (TPM_RH / TPM_RS). */
export const TPM_RH = {
  OWNER: 0x40000001,
  PW: 0x40000009,
  ENDORSEMENT: 0x4000000b,
  PLATFORM: 0x4000000c,
  NULL: 0x40000007,
} as const;

/** Object attribute bits (TPMA_OBJECT). */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const;

/** NV index attribute bits (TPMA_NV) used here. */
export const TPMA_NV = {
  PPWRITE: 1 << 0,
  OWNERWRITE: 1 << 1,
  AUTHWRITE: 1 << 2,
  PPREAD: 1 << 16,
  OWNERREAD: 1 << 17,
  AUTHREAD: 1 << 18,
  NO_DA: 1 << 25,
  WRITTEN: 1 << 29,
} as const;

/** Digest sizes of the hash algorithms this module knows, by TPM_ALG_ID. */
export const DIGEST_SIZES: ReadonlyMap<number, number> = new Map([
  [TPM_ALG.SHA1, 20],
  [TPM_ALG.SHA256, 32],
  [TPM_ALG.SHA384, 48],
  [TPM_ALG.SHA512, 64],
  [TPM_ALG.SM3_256, 32],
]);

/** WebCrypto name of a TPM hash algorithm, or undefined when WebCrypto lacks it. */
export function webCryptoHash(
  alg: number,
): "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512" | undefined {
  switch (alg) {
    case TPM_ALG.SHA1:
      return "SHA-1";
    case TPM_ALG.SHA256:
      return "SHA-256";
    case TPM_ALG.SHA384:
      return "SHA-384";
    case TPM_ALG.SHA512:
      return "SHA-512";
    default:
      return undefined;
  }
}

/** `0x000b` style name for messages. */
export function algName(alg: number): string {
  const entry = Object.entries(TPM_ALG).find(([, v]) => v === alg);
  return entry ? `${entry[0]} (0x${hex16(alg)})` : `0x${hex16(alg)}`;
}

function hex16(n: number): string {
  return n.toString(16).padStart(4, "0");
}
