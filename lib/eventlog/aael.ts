/**
 * The Attestation-Agent event log (AAEL, spec/evidence.md §6.5): text entries
 * `<domain> <operation> <content>` wrapped in TCG2 `EV_EVENT_TAG` events (tag id "AAEL"), whose
 * single digest is the hash of the tagged-event data and is extended into the target register.
 * The guest appends entries with {@linkcode encodeAaelEvent}; the verifier reads them back with
 * the CCEL parser.
 */
import { concat } from "../bytes.ts";
import { canonicalize, type JsonValue } from "../json/mod.ts";
import { EV_EVENT_TAG, EventLogError, tcgAlgorithm, tcgHash } from "./tcg.ts";

/** One AAEL text entry. `content` is JSON when the text parses as JSON. */
export interface AaelText {
  domain: string;
  operation: string;
  content: JsonValue;
}

/** Splits `<domain> <operation> <content>`; content stays a string unless it is valid JSON. */
export function parseAaelText(text: string): AaelText {
  const a = text.indexOf(" ");
  const b = a < 0 ? -1 : text.indexOf(" ", a + 1);
  if (a <= 0 || b <= a + 1) {
    throw new EventLogError(
      "malformed",
      `Cannot parse AAEL entry ${JSON.stringify(text)}: expected "<domain> <operation> <content>"`,
    );
  }
  const raw = text.slice(b + 1);
  let content: JsonValue = raw;
  try {
    content = JSON.parse(raw) as JsonValue;
  } catch {
    // not JSON: keep the text
  }
  return { domain: text.slice(0, a), operation: text.slice(a + 1, b), content };
}

/** What to record: domain and operation without whitespace, content without LF. */
export interface AaelRecord {
  domain: string;
  operation: string;
  /** A string is recorded as is; anything else as RFC 8785 canonical JSON. */
  content: JsonValue;
}

/** Formats the text of an AAEL entry, rejecting fields that would make it ambiguous. */
export function formatAaelText(r: AaelRecord): string {
  if (!r.domain || /\s/.test(r.domain)) {
    throw new EventLogError(
      "malformed",
      "Cannot record AAEL event: domain is empty or has whitespace",
    );
  }
  if (!r.operation || /\s/.test(r.operation)) {
    throw new EventLogError(
      "malformed",
      "Cannot record AAEL event: operation is empty or has whitespace",
    );
  }
  const content = typeof r.content === "string" ? r.content : canonicalize(r.content);
  if (content.includes("\n")) {
    throw new EventLogError("malformed", "Cannot record AAEL event: content contains a newline");
  }
  return `${r.domain} ${r.operation} ${content}`;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

/** An encoded AAEL event and the digest to extend into register `mrIndex`. */
export interface EncodedAaelEvent {
  bytes: Uint8Array;
  digest: Uint8Array;
}

/**
 * Encodes one AAEL entry as a crypto-agile `EV_EVENT_TAG` event for register `mrIndex`, hashed
 * with TPM_ALG_ID `algId` (TDX: SHA-384 0x000C, target CC-MR 4 = RTMR3 by default).
 */
export function encodeAaelEvent(r: AaelRecord, mrIndex: number, algId: number): EncodedAaelEvent {
  const alg = tcgAlgorithm(algId);
  const text = new TextEncoder().encode(formatAaelText(r));
  const data = concat(new Uint8Array([0x4c, 0x45, 0x41, 0x41]), u32(text.length), text);
  const digest = tcgHash(alg, data);
  const header = concat(
    u32(mrIndex),
    u32(EV_EVENT_TAG),
    u32(1),
    new Uint8Array([algId & 0xff, algId >> 8]),
  );
  return { bytes: concat(header, digest, u32(data.length), data), digest };
}

/**
 * The 69-byte spec-id header the guest prepends to an AAEL when there is no CCEL (§6.1):
 * EV_NO_ACTION, 24 zero bytes, algorithms SHA-384 and SM3, no vendor info.
 */
export function aaelOnlyHeader(): Uint8Array {
  const event = concat(
    new Uint8Array(24),
    u32(2),
    new Uint8Array([0x0c, 0x00, 48, 0x00, 0x12, 0x00, 32, 0x00]),
    new Uint8Array([0]),
  );
  return concat(u32(0), u32(3), new Uint8Array(20), u32(event.length), event);
}
