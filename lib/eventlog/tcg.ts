/**
 * TCG constants for crypto-agile event logs: hash algorithm ids (TPM_ALG_ID) and event type
 * names, as Trustee names them in `uefi_event_logs` (spec/evidence.md §6.2).
 */
import { createHash } from "node:crypto";
import { CodedError } from "../errors.ts";

/** Why an event log could not be parsed or replayed. */
export type EventLogErrorCode =
  | "truncated"
  | "malformed"
  | "unknown-event-type"
  | "unknown-algorithm"
  | "replay-mismatch";

/** An event log is malformed, uses unknown ids, or does not replay to the expected value. */
export class EventLogError extends CodedError<EventLogErrorCode> {}

/** A hash algorithm that may appear in a crypto-agile log. */
export interface TcgAlgorithm {
  id: number;
  name: string;
  /** Digest size, or undefined for non-hash algorithms (RSA, TDES). */
  size?: number;
  /** `node:crypto` hash name. */
  node?: string;
}

const ALGS: TcgAlgorithm[] = [
  { id: 0x0001, name: "RSA" },
  { id: 0x0003, name: "TDES" },
  { id: 0x0004, name: "SHA-1", size: 20, node: "sha1" },
  { id: 0x000b, name: "SHA-256", size: 32, node: "sha256" },
  { id: 0x000c, name: "SHA-384", size: 48, node: "sha384" },
  { id: 0x000d, name: "SHA-512", size: 64, node: "sha512" },
  { id: 0x0012, name: "SM3", size: 32, node: "sm3" },
];

/** TPM_ALG_ID values used by CoCo logs. */
export const ALG_SHA256 = 0x000b;
export const ALG_SHA384 = 0x000c;
export const ALG_SM3 = 0x0012;

/** Looks up an algorithm by TPM_ALG_ID. */
export function tcgAlgorithm(id: number): TcgAlgorithm {
  const alg = ALGS.find((a) => a.id === id);
  if (!alg) {
    throw new EventLogError(
      "unknown-algorithm",
      `Cannot parse event log: unknown algorithm id 0x${id.toString(16)}`,
    );
  }
  return alg;
}

/** Hashes `data` with a hash algorithm from the table. */
export function tcgHash(alg: TcgAlgorithm, ...parts: Uint8Array[]): Uint8Array {
  if (!alg.node) {
    throw new EventLogError(
      "unknown-algorithm",
      `Cannot hash with ${alg.name}: not a hash algorithm`,
    );
  }
  const h = createHash(alg.node);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const BASE_TYPES = [
  "EV_PREBOOT_CERT",
  "EV_POST_CODE",
  "EV_UNUSED",
  "EV_NO_ACTION",
  "EV_SEPARATOR",
  "EV_ACTION",
  "EV_EVENT_TAG",
  "EV_S_CRTM_CONTENTS",
  "EV_S_CRTM_VERSION",
  "EV_CPU_MICROCODE",
  "EV_PLATFORM_CONFIG_FLAGS",
  "EV_TABLE_OF_DEVICES",
  "EV_COMPACT_HASH",
  "EV_IPL",
  "EV_IPL_PARTITION_DATA",
  "EV_NONHOST_CODE",
  "EV_NONHOST_CONFIG",
  "EV_NONHOST_INFO",
  "EV_OMIT_BOOT_DEVICE_EVENTS",
];

const EFI_TYPES: Record<number, string> = {
  0x00: "EV_EFI_EVENT_BASE",
  0x01: "EV_EFI_VARIABLE_DRIVER_CONFIG",
  0x02: "EV_EFI_VARIABLE_BOOT",
  0x03: "EV_EFI_BOOT_SERVICES_APPLICATION",
  0x04: "EV_EFI_BOOT_SERVICES_DRIVER",
  0x05: "EV_EFI_RUNTIME_SERVICES_DRIVER",
  0x06: "EV_EFI_GPT_EVENT",
  0x07: "EV_EFI_ACTION",
  0x08: "EV_EFI_PLATFORM_FIRMWARE_BLOB",
  0x09: "EV_EFI_HANDOFF_TABLES",
  0x0a: "EV_EFI_PLATFORM_FIRMWARE_BLOB2",
  0x0b: "EV_EFI_HANDOFF_TABLES2",
  0x0c: "EV_EFI_VARIABLE_BOOT2",
  0x10: "EV_EFI_HCRTM_EVENT",
  0xe0: "EV_EFI_VARIABLE_AUTHORITY",
  0xe1: "EV_EFI_SPDM_FIRMWARE_BLOB",
  0xe2: "EV_EFI_SPDM_FIRMWARE_CONFIG",
};

/** Event type numbers used by the code. */
export const EV_NO_ACTION = 0x3;
export const EV_EVENT_TAG = 0x6;

/** The TCG name of an event type (`EV_…`). */
export function eventTypeName(type: number): string {
  if (type < BASE_TYPES.length) return BASE_TYPES[type]!;
  if (type >= 0x80000000) {
    const name = EFI_TYPES[type - 0x80000000];
    if (name) return name;
  }
  throw new EventLogError(
    "unknown-event-type",
    `Cannot parse event log: unknown event type 0x${type.toString(16)}`,
  );
}
