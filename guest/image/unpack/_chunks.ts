/**
 * A pull reader over a `ReadableStream<Uint8Array>` that hands out views of the chunks it
 * receives (no copies, except a 512-byte block that straddles two chunks), counts bytes, and
 * tells a clean end of stream from a truncated one.
 *
 * @module
 */
import { UnpackError } from "./errors.ts";

/** Reads a byte stream in pieces of bounded size. */
export class ChunkReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #done = false;
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  /** Makes sure unread bytes are buffered; false at end of stream. */
  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      if (this.#done) return false;
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await this.#reader.read();
      } catch (cause) {
        throw new UnpackError("bad_stream", undefined, "the layer stream failed", { cause });
      }
      if (r.done) {
        this.#done = true;
        return false;
      }
      if (!(r.value instanceof Uint8Array)) {
        throw new UnpackError("bad_stream", undefined, "the layer stream yielded a non-byte chunk");
      }
      this.#chunk = r.value;
      this.#pos = 0;
    }
    return true;
  }

  /** Between 1 and `max` bytes, or `null` at end of stream. The view stays valid. */
  async read(max: number): Promise<Uint8Array | null> {
    if (!(await this.#fill())) return null;
    const n = Math.min(max, this.#chunk.length - this.#pos);
    const out = this.#chunk.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    this.consumed += n;
    return out;
  }

  /**
   * Exactly `n` bytes; `null` when the stream ends before the first one; throws `truncated`
   * (naming `what`) when it ends part way.
   */
  async readExact(n: number, what: string): Promise<Uint8Array | null> {
    const first = await this.read(n);
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

  /** Discards exactly `n` bytes; throws `truncated` naming `what` if the stream ends first. */
  async skip(n: number, what: string): Promise<void> {
    while (n > 0) {
      const got = await this.read(n);
      if (got === null) {
        throw new UnpackError("truncated", undefined, `the stream ends inside ${what}`);
      }
      n -= got.length;
    }
  }

  /** Reads to the end of the stream, so a hash computed upstream sees every byte. */
  async drain(): Promise<void> {
    while ((await this.read(1 << 20)) !== null) { /* discard */ }
  }

  /** Stops the source (after an error) and releases it. */
  async cancel(reason: unknown): Promise<void> {
    try {
      await this.#reader.cancel(reason);
    } catch { /* the source already failed */ }
    this.#reader.releaseLock();
  }

  /** Releases the stream after a complete read. */
  release(): void {
    this.#reader.releaseLock();
  }
}
