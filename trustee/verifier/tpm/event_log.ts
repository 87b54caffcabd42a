/**
 * Event logs of a `tpm` evidence: the optional firmware TCG2 log (`event_log`, from
 * `/sys/kernel/security/tpm0/binary_bios_measurements`) and the optional AA event log
 * (`aa_eventlog`, runtime measurements). Their entries are replayed together, in that order, in
 * the SHA-256 bank; every PCR with events must equal the quoted value. PCRs 17–22 start at all
 * ones after TPM2_Startup (all zeros after a DRTM launch), so either start value is accepted for
 * them. The events become `uefi_event_logs` claims as for TDX.
 */
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual } from "@coco/lib/bytes";
import {
  ALG_SHA256,
  eventJson,
  type EventLogEntry,
  parseCcEventLog,
  tcgAlgorithm,
  tcgHash,
} from "@coco/lib/eventlog";
import { VerifierError } from "../types.ts";

function replayFrom(entries: EventLogEntry[], index: number, start: Uint8Array): Uint8Array {
  const alg = tcgAlgorithm(ALG_SHA256);
  let value = start;
  for (const e of entries) {
    if (e.index !== index) continue;
    for (const d of e.digests) if (d.alg.id === ALG_SHA256) value = tcgHash(alg, value, d.digest);
  }
  return value;
}

/** Start values a PCR may have had before its first logged event. */
function startValues(index: number): Uint8Array[] {
  const zero = new Uint8Array(32);
  return index >= 17 && index <= 22 ? [new Uint8Array(32).fill(0xff), zero] : [zero];
}

/** Parses the firmware log (spec-id event first); failures are `bad-evidence`. */
export function parseFirmwareLog(log: Uint8Array): EventLogEntry[] {
  try {
    return parseCcEventLog(log).entries;
  } catch (err) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify tpm evidence: event_log: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Replays `entries` against the quoted SHA-256 `pcrs`; returns the per-event claims. */
export function verifyEventLog(
  entries: EventLogEntry[],
  pcrs: readonly Uint8Array[],
): JsonValue[] {
  const indices = [...new Set(entries.map((e) => e.index))].sort((a, b) => a - b);
  for (const i of indices) {
    if (i >= pcrs.length) {
      throw new VerifierError(
        "bad-evidence",
        `Cannot verify tpm evidence: event_log has events for PCR ${i}, which was not quoted`,
      );
    }
    const tries = startValues(i).map((s) => replayFrom(entries, i, s));
    if (!tries.some((v) => bytesEqual(v, pcrs[i]!))) {
      throw new VerifierError(
        "bad-evidence",
        `Cannot verify tpm evidence: event_log replay of PCR ${i} gives ${tries[0]!.toHex()}, ` +
          `the quote has ${pcrs[i]!.toHex()}`,
      );
    }
  }
  return entries.map((e) => eventJson(e));
}
