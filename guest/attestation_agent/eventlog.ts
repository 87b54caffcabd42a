/**
 * The AA event log writer (spec/guest.md §1.6): each runtime measurement is an AAEL
 * `EV_EVENT_TAG` entry appended to `/run/attestation-agent/eventlog`, and its digest is extended
 * into the platform register. A write-ahead file makes "extend + append" crash safe:
 *
 * `u64 BE log offset ‖ u32 BE PCR index ‖ expected register value (when readable) ‖ event text`
 *
 * written before the extend and removed after the append. On start {@linkcode AaEventLog.recover}
 * finishes an interrupted measurement (extends if the register does not hold the expected value
 * yet, rewrites the entry at the offset) or refuses to start when the register moved elsewhere.
 * Upstream's WAL has no PCR index (it assumes `init_pcr`); ours records it because
 * `RegisterIndex` may differ.
 */
import { dirname } from "node:path";
import { CodedError } from "@coco/lib/errors";
import { bytesEqual, concat } from "@coco/lib/bytes";
import { encodeAaelEvent, formatAaelText, tcgAlgorithm, tcgHash } from "@coco/lib/eventlog";
import type { RuntimeRegisters } from "../attester/mod.ts";

/** Why a runtime measurement could not be recorded. */
export type EventLogWriteErrorCode = "bad-event" | "wal-unrecoverable";

/** A measurement was refused, or an interrupted one cannot be finished. */
export class EventLogWriteError extends CodedError<EventLogWriteErrorCode> {}

/** The write-ahead file beside `logPath`. */
export function walPathOf(logPath: string): string {
  return `${dirname(logPath)}/.wal_event_entry`;
}

function splitText(text: string) {
  const a = text.indexOf(" ");
  const b = a < 0 ? -1 : text.indexOf(" ", a + 1);
  if (a <= 0 || b <= a + 1) {
    throw new EventLogWriteError("wal-unrecoverable", `Cannot recover AAEL entry ${text}`);
  }
  return { domain: text.slice(0, a), operation: text.slice(a + 1, b), content: text.slice(b + 1) };
}

/** Appends AAEL entries and extends registers, one measurement at a time. */
export class AaEventLog {
  readonly walPath: string;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(readonly logPath: string, readonly registers: RuntimeRegisters) {
    this.walPath = walPathOf(logPath);
  }

  /** Records `<domain> <operation> <content>` in register `pcr` (serialised). */
  extend(domain: string, operation: string, content: string, pcr: number): Promise<void> {
    const run = () => this.#extend(domain, operation, content, pcr);
    const next = this.#tail.then(run, run);
    this.#tail = next.catch(() => {});
    return next;
  }

  async #extend(domain: string, operation: string, content: string, pcr: number) {
    let text: string;
    try {
      text = formatAaelText({ domain, operation, content });
    } catch (err) {
      throw new EventLogWriteError("bad-event", (err as Error).message, { cause: err });
    }
    const event = encodeAaelEvent(
      { domain, operation, content },
      this.registers.logIndex(pcr),
      this.registers.algId,
    );
    await Deno.mkdir(dirname(this.logPath), { recursive: true });
    const offset = await Deno.stat(this.logPath).then((s) => s.size, () => 0);
    const current = await this.registers.read(pcr);
    const alg = tcgAlgorithm(this.registers.algId);
    const expected = current ? tcgHash(alg, current, event.digest) : new Uint8Array();
    await this.#writeWal(offset, pcr, expected, text);
    await this.registers.extend(pcr, event.digest);
    await this.#writeAt(offset, event.bytes);
    await Deno.remove(this.walPath);
  }

  async #writeWal(offset: number, pcr: number, expected: Uint8Array, text: string) {
    const head = new Uint8Array(12);
    const v = new DataView(head.buffer);
    v.setBigUint64(0, BigInt(offset));
    v.setUint32(8, pcr);
    const bytes = concat(head, expected, new TextEncoder().encode(text));
    const tmp = `${this.walPath}.tmp`;
    await Deno.writeFile(tmp, bytes, { mode: 0o600 });
    await Deno.rename(tmp, this.walPath);
  }

  async #writeAt(offset: number, bytes: Uint8Array) {
    const f = await Deno.open(this.logPath, { create: true, write: true });
    try {
      await f.truncate(offset);
      await f.seek(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < bytes.length) done += await f.write(bytes.subarray(done));
      await f.syncData();
    } finally {
      f.close();
    }
  }

  /** Finishes a measurement interrupted by a crash; throws when that is impossible. */
  async recover(): Promise<"none" | "recovered"> {
    let wal: Uint8Array;
    try {
      wal = await Deno.readFile(this.walPath);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return "none";
      throw new EventLogWriteError("wal-unrecoverable", `Cannot read ${this.walPath}`, {
        cause: err,
      });
    }
    const alg = tcgAlgorithm(this.registers.algId);
    if (wal.length < 12) {
      throw new EventLogWriteError("wal-unrecoverable", `${this.walPath} is truncated`);
    }
    const v = new DataView(wal.buffer, wal.byteOffset, wal.length);
    const offset = Number(v.getBigUint64(0));
    const pcr = v.getUint32(8);
    const current = await this.registers.read(pcr);
    const size = current ? alg.size ?? 0 : 0;
    const expected = wal.subarray(12, 12 + size);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(wal.subarray(12 + size));
    } catch (err) {
      throw new EventLogWriteError("wal-unrecoverable", `${this.walPath}: text is not UTF-8`, {
        cause: err,
      });
    }
    const event = encodeAaelEvent(splitText(text), this.registers.logIndex(pcr), alg.id);
    if (current && !bytesEqual(current, expected)) {
      if (!bytesEqual(tcgHash(alg, current, event.digest), expected)) {
        throw new EventLogWriteError(
          "wal-unrecoverable",
          `Cannot recover the runtime measurement in ${this.walPath}: register of PCR ${pcr} ` +
            `is ${current.toHex()}, neither before nor after the logged extend`,
        );
      }
      await this.registers.extend(pcr, event.digest);
    }
    await this.#writeAt(offset, event.bytes);
    await Deno.remove(this.walPath);
    return "recovered";
  }
}
