/**
 * TCG2 crypto-agile event logs (CCEL), RTMR/PCR replay, and the AA event log (AAEL).
 *
 * - {@linkcode parseCcEventLog} reads a log (spec-id event first) into typed entries;
 *   {@linkcode eventJson} renders one entry as Trustee's `uefi_event_logs` JSON.
 * - {@linkcode replayRegister} / {@linkcode replayAndMatch} recompute measurement registers.
 * - {@linkcode encodeAaelEvent} builds the entries the guest appends for runtime measurements.
 * - {@linkcode trimCcelData} cuts the ACPI CCEL log area after its last event (guest side).
 *
 * @example
 * ```ts
 * import { ALG_SHA384, parseCcEventLog, replayRegister } from "@coco/lib/eventlog";
 * const log = parseCcEventLog(await Deno.readFile("CCEL_data"));
 * const rtmr0 = replayRegister(log.entries, 1, ALG_SHA384);
 * ```
 *
 * @module
 */
export {
  ALG_SHA256,
  ALG_SHA384,
  ALG_SM3,
  EV_EVENT_TAG,
  EV_NO_ACTION,
  EventLogError,
  type EventLogErrorCode,
  eventTypeName,
  type TcgAlgorithm,
  tcgAlgorithm,
  tcgHash,
} from "./tcg.ts";
export {
  type CcEventLog,
  type EventDigest,
  type EventLogEntry,
  parseCcEventLog,
  parseCryptoAgileEvents,
  trimCcelData,
} from "./ccel.ts";
export {
  AAEL_TAG_ID,
  digestMatchesEvent,
  type EventDetails,
  eventDetails,
  eventJson,
} from "./details.ts";
export { formatDevicePath, formatUefiGuid } from "./device_path.ts";
export { type ReferenceMeasurement, replayAndMatch, replayRegister } from "./replay.ts";
export {
  aaelOnlyHeader,
  type AaelRecord,
  type AaelText,
  encodeAaelEvent,
  type EncodedAaelEvent,
  formatAaelText,
  parseAaelText,
} from "./aael.ts";
