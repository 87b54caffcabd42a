/**
 * The AA event log (AAEL) carried on its own in `aa_eventlog` (sample and tpm evidence; TDX sends
 * it inside `cc_eventlog`): TCG2 crypto-agile `EV_EVENT_TAG` entries with no spec-id header
 * (spec/evidence.md §6.5), so digest sizes come from the algorithm ids themselves.
 */
import { type EventLogEntry, parseCryptoAgileEvents } from "@coco/lib/eventlog";
import { VerifierError } from "./types.ts";

/** Digest sizes of the hash algorithms an AAEL may use (SHA-1/256/384/512, SM3). */
export const AAEL_DIGEST_SIZES: ReadonlyMap<number, number> = new Map([
  [0x0004, 20],
  [0x000b, 32],
  [0x000c, 48],
  [0x000d, 64],
  [0x0012, 32],
]);

/** Parses `aa_eventlog` (standard base64) of `tee` evidence; failures are `bad-evidence`. */
export function parseAaEventLog(tee: string, b64: string): EventLogEntry[] {
  try {
    return parseCryptoAgileEvents(Uint8Array.fromBase64(b64), new Map(AAEL_DIGEST_SIZES));
  } catch (err) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify ${tee} evidence: aa_eventlog: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
