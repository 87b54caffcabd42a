/**
 * TCG2 crypto-agile event log parsing (CCEL, AAEL), as Trustee's `deps/eventlog` reads it
 * (spec/evidence.md §6.2): a legacy TCG_PCR_EVENT first (the spec-id event announcing digest
 * sizes), then crypto-agile events until the data ends or an 8-byte 0 / 0xFF…FF stop marker.
 */
import {
  EV_NO_ACTION,
  EventLogError,
  eventTypeName,
  type TcgAlgorithm,
  tcgAlgorithm,
} from "./tcg.ts";

/** One digest of an event. */
export interface EventDigest {
  alg: TcgAlgorithm;
  digest: Uint8Array;
}

/** One crypto-agile event. */
export interface EventLogEntry {
  /** CC measurement register (or PCR) index. */
  index: number;
  type: number;
  typeName: string;
  digests: EventDigest[];
  data: Uint8Array;
}

/** A parsed log: digest sizes announced by the spec-id event, and the events after it. */
export interface CcEventLog {
  digestSizes: Map<number, number>;
  entries: EventLogEntry[];
}

class Cursor {
  constructor(readonly b: Uint8Array, public off = 0) {}
  get left(): number {
    return this.b.length - this.off;
  }
  need(n: number, what: string): void {
    if (n > this.left) {
      throw new EventLogError(
        "truncated",
        `Cannot parse event log: truncated ${what} at offset ${this.off} (needs ${n} bytes, ${this.left} left)`,
      );
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.off++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.b[this.off]! | (this.b[this.off + 1]! << 8);
    this.off += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 4).getUint32(0, true);
    this.off += 4;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  /** True at an 8-byte all-zero or all-0xFF stop marker, or when fewer than 8 bytes remain. */
  atStop(): boolean {
    if (this.left < 8) {
      return this.left === 0 || this.b.subarray(this.off).every((x) => x === 0 || x === 0xff);
    }
    const s = this.b.subarray(this.off, this.off + 8);
    return s.every((x) => x === 0) || s.every((x) => x === 0xff);
  }
}

function parseSpecId(data: Uint8Array, sizes: Map<number, number>): void {
  const c = new Cursor(data, 24);
  const n = c.u32("spec-id algorithm count");
  for (let i = 0; i < n; i++) {
    const id = c.u16("spec-id algorithm id");
    const size = c.u16("spec-id digest size");
    tcgAlgorithm(id);
    sizes.set(id, size);
  }
  const vendorSize = c.u8("spec-id vendor info size");
  c.bytes(vendorSize, "spec-id vendor info");
  if (c.off !== data.length) {
    throw new EventLogError(
      "malformed",
      `Cannot parse event log: spec-id event is ${data.length} bytes but its fields use ${c.off}`,
    );
  }
}

/**
 * Parses a crypto-agile event log starting with a spec-id event.
 *
 * @throws {EventLogError} on truncation, unknown event types or algorithms.
 */
export function parseCcEventLog(bytes: Uint8Array): CcEventLog {
  const c = new Cursor(bytes);
  const digestSizes = new Map<number, number>();
  c.u32("first event MR index");
  const firstType = c.u32("first event type");
  eventTypeName(firstType);
  c.bytes(20, "first event SHA-1 digest");
  const firstSize = c.u32("first event size");
  if (firstType === EV_NO_ACTION) parseSpecId(c.bytes(firstSize, "spec-id event"), digestSizes);
  const entries: EventLogEntry[] = [];
  while (!c.atStop()) entries.push(parseEntry(c, digestSizes));
  return { digestSizes, entries };
}

/** Parses crypto-agile events (no spec-id header), e.g. an AAEL file, with known digest sizes. */
export function parseCryptoAgileEvents(
  bytes: Uint8Array,
  digestSizes: Map<number, number>,
): EventLogEntry[] {
  const c = new Cursor(bytes);
  const entries: EventLogEntry[] = [];
  while (!c.atStop()) entries.push(parseEntry(c, digestSizes));
  return entries;
}

function parseEntry(c: Cursor, sizes: Map<number, number>): EventLogEntry {
  const index = c.u32("event MR index");
  const type = c.u32("event type");
  const typeName = eventTypeName(type);
  const count = c.u32("digest count");
  const digests: EventDigest[] = [];
  for (let i = 0; i < count; i++) {
    const alg = tcgAlgorithm(c.u16("digest algorithm"));
    const size = sizes.get(alg.id) ?? alg.size;
    if (size === undefined) {
      throw new EventLogError(
        "unknown-algorithm",
        `Cannot parse event log: no digest size for ${alg.name}`,
      );
    }
    digests.push({ alg, digest: c.bytes(size, `${alg.name} digest`) });
  }
  const size = c.u32("event size");
  const data = c.bytes(size, "event data");
  return { index, type, typeName, digests, data };
}

const FIXED_SIZES: Record<number, number> = { 0x0b: 32, 0x0c: 48, 0x0d: 64, 0x12: 32 };

/**
 * Cuts a CCEL log area (the ACPI LAML bytes, tail filled with 0xFF or 0x00) after its last event,
 * walking it as guest-components does (spec/evidence.md §6.1): fixed digest sizes per algorithm.
 */
export function trimCcelData(area: Uint8Array): Uint8Array {
  const c = new Cursor(area);
  c.bytes(28, "first event header");
  c.bytes(c.u32("first event size"), "spec-id event");
  while (!c.atStop()) {
    c.bytes(8, "event MR index and type");
    const count = c.u32("digest count");
    for (let i = 0; i < count; i++) {
      const id = c.u16("digest algorithm");
      const size = FIXED_SIZES[id];
      if (size === undefined) {
        throw new EventLogError(
          "unknown-algorithm",
          `Cannot trim CCEL: unsupported digest algorithm 0x${id.toString(16)}`,
        );
      }
      c.bytes(size, "digest");
    }
    c.bytes(c.u32("event size"), "event data");
  }
  return area.subarray(0, c.off);
}
