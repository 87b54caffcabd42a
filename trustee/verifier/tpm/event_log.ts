/**
 * Optional TCG2 event log of a `tpm` evidence (the firmware log from
 * `/sys/kernel/security/tpm0/binary_bios_measurements`): parsed, every PCR that has events is
 * replayed in the SHA-256 bank and must equal the quoted value; events become
 * `uefi_event_logs` claims as for TDX.
 */
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual } from "@coco/lib/bytes";
import {
  ALG_SHA256,
  eventJson,
  type EventLogEntry,
  parseCcEventLog,
  replayRegister,
} from "@coco/lib/eventlog";
import { VerifierError } from "../types.ts";

/** Replays `log` against the quoted SHA-256 `pcrs`; returns the per-event claims. */
export function verifyEventLog(log: Uint8Array, pcrs: readonly Uint8Array[]): JsonValue[] {
  let entries: EventLogEntry[];
  try {
    entries = parseCcEventLog(log).entries;
  } catch (err) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify tpm evidence: event_log: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const indices = [...new Set(entries.map((e) => e.index))].sort((a, b) => a - b);
  for (const i of indices) {
    if (i >= pcrs.length) {
      throw new VerifierError(
        "bad-evidence",
        `Cannot verify tpm evidence: event_log has events for PCR ${i}, which was not quoted`,
      );
    }
    const replayed = replayRegister(entries, i, ALG_SHA256);
    if (!bytesEqual(replayed, pcrs[i]!)) {
      throw new VerifierError(
        "bad-evidence",
        `Cannot verify tpm evidence: event_log replay of PCR ${i} gives ${replayed.toHex()}, ` +
          `the quote has ${pcrs[i]!.toHex()}`,
      );
    }
  }
  return entries.map((e) => eventJson(e));
}
