/**
 * Register replay (spec/evidence.md §6.4): for register i and algorithm A, start from |A| zero
 * bytes and fold `A(value ‖ digest)` over every digest of A in the events with index i, in log
 * order. EV_NO_ACTION events are not skipped (as Trustee).
 */
import type { EventLogEntry } from "./ccel.ts";
import { EventLogError, tcgAlgorithm, tcgHash } from "./tcg.ts";

/** Replays register `index` with TPM_ALG_ID `algId`. */
export function replayRegister(entries: EventLogEntry[], index: number, algId: number): Uint8Array {
  const alg = tcgAlgorithm(algId);
  let value: Uint8Array = new Uint8Array(alg.size ?? 0);
  for (const e of entries) {
    if (e.index !== index) continue;
    for (const d of e.digests) if (d.alg.id === algId) value = tcgHash(alg, value, d.digest);
  }
  return value;
}

/** An expected register value. */
export interface ReferenceMeasurement {
  index: number;
  algId: number;
  value: Uint8Array;
}

/**
 * Replays each register and compares it with its reference.
 *
 * @throws {EventLogError} `replay-mismatch`, naming the register and both values.
 */
export function replayAndMatch(entries: EventLogEntry[], refs: ReferenceMeasurement[]): void {
  for (const r of refs) {
    const got = replayRegister(entries, r.index, r.algId);
    if (got.toHex() !== r.value.toHex()) {
      throw new EventLogError(
        "replay-mismatch",
        `Eventlog does not pass measurement replay CC Event Log Measurement Register [index = ${r.index}]. Calculated value: ${got.toHex()}, Given value: ${r.value.toHex()}`,
      );
    }
  }
}
