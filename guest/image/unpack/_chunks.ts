/**
 * A pull reader over a `ReadableStream<Uint8Array>` that hands out views of the chunks it
 * receives (no copies, except a 512-byte block that straddles two chunks), counts bytes, and
 * tells a clean end of stream from a truncated one.
 *
 * Speed: one read is always in flight ahead of the consumer (read-ahead of one chunk), so the
 * producer — a file read, decompression on a worker thread — overlaps with the writes to disk.
 * A byte stream (`type: "bytes"`, e.g. `Deno.FsFile.readable`) is read with a BYOB reader into
 * two alternating {@link BYOB_CHUNK}-byte buffers instead of the 64 KiB chunks it would
 * allocate: fewer, larger reads and no garbage. Memory stays bounded: at most two chunks.
 *
 * Validity of views: a view stays valid until the reader moves past the chunk it came from
 * (with a BYOB reader that chunk's buffer is then reused). Callers copy what they keep longer
 * (the tar reader copies extension records; entry contents are written as they arrive).
 *
 * @module
 */
import { UnpackError } from "./errors.ts";

/** Size of each of the two buffers a byte stream is read into. */
export const BYOB_CHUNK = 1 << 18;

type Result = ReadableStreamReadResult<Uint8Array>;

const EMPTY = new Uint8Array(0);

/** Reads a byte stream in pieces of bounded size. */
export class ChunkReader {
  #reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader;
  #byob: boolean;
  /** BYOB: the buffer to read into next (the other one holds the current chunk). */
  #spare: ArrayBuffer | undefined;
  #ahead: Promise<Result> | undefined;
  #chunk: Uint8Array = EMPTY;
  #pos = 0;
  #done = false;
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    let byob: ReadableStreamBYOBReader | undefined;
    try {
      byob = stream.getReader({ mode: "byob" });
    } catch { /* not a byte stream */ }
    this.#byob = byob !== undefined;
    this.#reader = byob ?? stream.getReader();
    if (byob) this.#spare = new ArrayBuffer(BYOB_CHUNK);
    this.#ahead = this.#start();
  }

  /** Starts the next read; its rejection is observed when it is awaited. */
  #start(): Promise<Result> {
    let p: Promise<Result>;
    if (this.#byob) {
      const buf = this.#spare ?? new ArrayBuffer(BYOB_CHUNK);
      this.#spare = undefined;
      p = (this.#reader as ReadableStreamBYOBReader).read(new Uint8Array(buf));
    } else {
      p = (this.#reader as ReadableStreamDefaultReader<Uint8Array>).read();
    }
    p.catch(() => {}); // handled where awaited; never an unhandled rejection
    return p;
  }

  /** Makes sure unread bytes are buffered; false at end of stream. */
  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      if (this.#done) return false;
      let r: Result;
      try {
        r = await this.#ahead!;
      } catch (cause) {
        this.#ahead = undefined;
        throw new UnpackError("bad_stream", undefined, "the layer stream failed", { cause });
      }
      if (r.done) {
        this.#ahead = undefined;
        this.#done = true;
        return false;
      }
      if (!(r.value instanceof Uint8Array)) {
        this.#ahead = undefined;
        throw new UnpackError("bad_stream", undefined, "the layer stream yielded a non-byte chunk");
      }
      // The buffer of the chunk we leave is read into next (BYOB): its views end here.
      if (this.#byob && this.#chunk !== EMPTY) this.#spare = this.#chunk.buffer as ArrayBuffer;
      this.#chunk = r.value;
      this.#pos = 0;
      this.#ahead = this.#start();
    }
    return true;
  }

  /**
   * Between 1 and `max` bytes of the current chunk without waiting, or `null` when the current
   * chunk is used up (then call {@link read}).
   */
  readBuffered(max: number): Uint8Array | null {
    const avail = this.#chunk.length - this.#pos;
    if (avail <= 0) return null;
    const n = max < avail ? max : avail;
    const out = this.#chunk.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    this.consumed += n;
    return out;
  }

  /**
   * A view of the `n` bytes that start `offset` bytes ahead, when the current chunk holds them
   * all; nothing is consumed. `null` otherwise.
   */
  peekBuffered(offset: number, n: number): Uint8Array | null {
    const at = this.#pos + offset;
    if (at + n > this.#chunk.length) return null;
    return this.#chunk.subarray(at, at + n);
  }

  /** Between 1 and `max` bytes, or `null` at end of stream. */
  async read(max: number): Promise<Uint8Array | null> {
    if (this.#pos >= this.#chunk.length && !(await this.#fill())) return null;
    return this.readBuffered(max);
  }

  /**
   * Exactly `n` bytes; `null` when the stream ends before the first one; throws `truncated`
   * (naming `what`) when it ends part way. `head`: the first bytes, already taken with
   * {@link readBuffered} (they count towards `n`).
   */
  async readExact(n: number, what: string, head?: Uint8Array | null): Promise<Uint8Array | null> {
    const first = head ?? this.readBuffered(n) ?? await this.read(n);
    if (first === null) return null;
    if (first.length === n) return first;
    const out = new Uint8Array(n);
    out.set(first);
    let have = first.length;
    while (have < n) {
      const more = await this.read(n - have);
      if (more === null) {
        throw new UnpackError("truncated", undefined, `the stream ends inside ${what}`);
      }
      out.set(more, have);
      have += more.length;
    }
    return out;
  }

  /**
   * Skips up to `n` bytes held in the current chunk without waiting; returns how many are
   * left to skip (then call {@link skip}).
   */
  skipBuffered(n: number): number {
    const avail = this.#chunk.length - this.#pos;
    const k = n < avail ? n : avail;
    this.#pos += k;
    this.consumed += k;
    return n - k;
  }

  /** Discards exactly `n` bytes; throws `truncated` naming `what` if the stream ends first. */
  async skip(n: number, what: string): Promise<void> {
    n = this.skipBuffered(n);
    while (n > 0) {
      if (!(await this.#fill())) {
        throw new UnpackError("truncated", undefined, `the stream ends inside ${what}`);
      }
      n = this.skipBuffered(n);
    }
  }

  /** Reads to the end of the stream, so a hash computed upstream sees every byte. */
  async drain(): Promise<void> {
    while ((await this.read(Number.MAX_SAFE_INTEGER)) !== null) { /* discard */ }
  }

  /** Stops the source (after an error) and releases it. */
  async cancel(reason: unknown): Promise<void> {
    try {
      await this.#reader.cancel(reason);
    } catch { /* the source already failed */ }
    // The read-ahead settles once the stream is cancelled; wait for it before letting go.
    try {
      await this.#ahead;
    } catch { /* reported by cancel's caller, if at all */ }
    this.#ahead = undefined;
    this.#reader.releaseLock();
  }

  /** Releases the stream after a complete read. */
  release(): void {
    this.#reader.releaseLock();
  }
}
