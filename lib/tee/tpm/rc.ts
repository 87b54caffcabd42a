/** TPM 2.0 response codes (TPM_RC) decoded into readable names (TPM 2.0 Part 2 §6.6). */

const FMT1: Record<number, string> = {
  0x01: "ASYMMETRIC",
  0x02: "ATTRIBUTES",
  0x03: "HASH",
  0x04: "VALUE",
  0x05: "HIERARCHY",
  0x07: "KEY_SIZE",
  0x08: "MGF",
  0x09: "MODE",
  0x0a: "TYPE",
  0x0b: "HANDLE",
  0x0c: "KDF",
  0x0d: "RANGE",
  0x0e: "AUTH_FAIL",
  0x0f: "NONCE",
  0x10: "PP",
  0x12: "SCHEME",
  0x15: "SIZE",
  0x16: "SYMMETRIC",
  0x17: "TAG",
  0x18: "SELECTOR",
  0x1a: "INSUFFICIENT",
  0x1b: "SIGNATURE",
  0x1c: "KEY",
  0x1d: "POLICY_FAIL",
  0x1f: "INTEGRITY",
  0x20: "TICKET",
  0x21: "RESERVED_BITS",
  0x22: "BAD_AUTH",
  0x23: "EXPIRED",
  0x24: "POLICY_CC",
  0x25: "BINDING",
  0x26: "CURVE",
  0x27: "ECC_POINT",
};

const VER1: Record<number, string> = {
  0x00: "INITIALIZE",
  0x01: "FAILURE",
  0x03: "SEQUENCE",
  0x0b: "PRIVATE",
  0x19: "HMAC",
  0x20: "DISABLED",
  0x21: "EXCLUSIVE",
  0x24: "AUTH_TYPE",
  0x25: "AUTH_MISSING",
  0x26: "POLICY",
  0x27: "PCR",
  0x28: "PCR_CHANGED",
  0x2d: "UPGRADE",
  0x2e: "TOO_MANY_CONTEXTS",
  0x2f: "AUTH_UNAVAILABLE",
  0x30: "REBOOT",
  0x31: "UNBALANCED",
  0x42: "COMMAND_SIZE",
  0x43: "COMMAND_CODE",
  0x44: "AUTHSIZE",
  0x45: "AUTH_CONTEXT",
  0x46: "NV_RANGE",
  0x47: "NV_SIZE",
  0x48: "NV_LOCKED",
  0x49: "NV_AUTHORIZATION",
  0x4a: "NV_UNINITIALIZED",
  0x4b: "NV_SPACE",
  0x4c: "NV_DEFINED",
  0x50: "BAD_CONTEXT",
  0x51: "CPHASH",
  0x52: "PARENT",
  0x53: "NEEDS_TEST",
  0x54: "NO_RESULT",
  0x55: "SENSITIVE",
};

const WARN: Record<number, string> = {
  0x01: "CONTEXT_GAP",
  0x02: "OBJECT_MEMORY",
  0x03: "SESSION_MEMORY",
  0x04: "MEMORY",
  0x05: "SESSION_HANDLES",
  0x06: "OBJECT_HANDLES",
  0x07: "LOCALITY",
  0x08: "YIELDED",
  0x09: "CANCELED",
  0x0a: "TESTING",
  0x20: "NV_RATE",
  0x21: "LOCKOUT",
  0x22: "RETRY",
  0x23: "NV_UNAVAILABLE",
};

/** TPM_RC_INITIALIZE: TPM2_Startup was already done. */
export const RC_INITIALIZE = 0x100;

/** The error number without parameter/handle/session position bits (format-1 codes). */
export function rcBase(rc: number): number {
  return rc & 0x80 ? 0x80 | (rc & 0x3f) : rc;
}

/**
 * Human-readable description, e.g. `TPM_RC_HANDLE (handle 1)` or `TPM_RC_RETRY (warning)`.
 * Codes from the TSS layers (upper byte set) are reported as such.
 */
export function describeRc(rc: number): string {
  const hex = `0x${rc.toString(16).padStart(3, "0")}`;
  if (rc >>> 16 !== 0) return `TSS layer ${rc >>> 16} error ${hex}`;
  if (rc & 0x80) {
    const name = FMT1[rc & 0x3f] ?? `unknown format-1 error ${rc & 0x3f}`;
    let where: string;
    const n = (rc >> 8) & 0x7;
    if (rc & 0x40) where = `parameter ${(rc >> 8) & 0xf}`;
    else if (rc & 0x800) where = `session ${n}`;
    else where = n === 0 ? "" : `handle ${n}`;
    return `TPM_RC_${name}${where ? ` (${where})` : ""} [${hex}]`;
  }
  if ((rc & 0x900) === 0x900) {
    return `TPM_RC_${WARN[rc & 0x7f] ?? `warning ${rc & 0x7f}`} (warning) [${hex}]`;
  }
  if (rc & 0x100) return `TPM_RC_${VER1[rc & 0x7f] ?? `error ${rc & 0x7f}`} [${hex}]`;
  return `TPM 1.2 style response code [${hex}]`;
}
