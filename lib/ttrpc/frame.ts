/**
 * ttrpc framing: a 10-byte header (u32 BE payload length, u32 BE stream id, u8 type, u8 flags)
 * followed by the payload. {@linkcode FrameReader} cuts frames out of any byte stream,
 * {@linkcode FrameWriter} writes whole frames one after another.
 */
import { Code, TtrpcError } from "./status.ts";

/** Header size in bytes. */
export const HEADER_LENGTH = 10;
/** Largest payload either side may send: 4 MiB (Go `messageLengthMax`). */
export const MESSAGE_LENGTH_MAX = 4 << 20;

/** Frame types. */
export const MessageType = { Request: 1, Response: 2, Data: 3 } as const;
/** A frame type number. */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Frame flags (streaming only; unary calls use 0). */
export const Flags = { RemoteClosed: 0x01, RemoteOpen: 0x02, NoData: 0x04 } as const;

/** A decoded frame header. `type` is kept as a number: peers may send types we do not know. */
export interface FrameHeader {
  length: number;
  streamId: number;
  type: number;
  flags: number;
}

/** One frame. */
export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  payload: Uint8Array;
}

/**
 * What {@linkcode FrameReader.read} yields: a frame, or the header of a frame whose payload
 * exceeded {@linkcode MESSAGE_LENGTH_MAX} and was discarded (the stream stays in sync).
 */
export type ReadResult =
  | { kind: "frame"; frame: Frame }
  | { kind: "oversized"; header: FrameHeader };

/** The message a receiver answers an oversized frame with (Go's wording). */
export function oversizedMessage(length: number): string {
  return `message length ${length} exceed maximum message size of ${MESSAGE_LENGTH_MAX}`;
}

/** Encodes a frame (header + payload) into one buffer; refuses payloads over 4 MiB. */
export function encodeFrame(frame: Frame): Uint8Array {
  const length = frame.payload.byteLength;
  if (length > MESSAGE_LENGTH_MAX) {
    throw new TtrpcError(Code.RESOURCE_EXHAUSTED, oversizedMessage(length));
  }
  const out = new Uint8Array(HEADER_LENGTH + length);
  const view = new DataView(out.buffer);
  view.setUint32(0, length);
  view.setUint32(4, frame.streamId);
  view.setUint8(8, frame.type);
  view.setUint8(9, frame.flags);
  out.set(frame.payload, HEADER_LENGTH);
  return out;
}

/** Decodes a 10-byte header. */
export function decodeHeader(bytes: Uint8Array): FrameHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_LENGTH);
  return {
    length: view.getUint32(0),
    streamId: view.getUint32(4),
    type: view.getUint8(8),
    flags: view.getUint8(9),
  };
}

/** The stream ended in the middle of a frame. */
export class TruncatedFrameError extends Error {
  override name = "TruncatedFrameError";
}

/**
 * Reads frames from a byte stream. Chunks are queued as they arrive; a frame lying inside one
 * chunk is returned as a view into it (no copy), a frame spanning chunks is copied once.
 */
export class FrameReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #chunks: Uint8Array[] = [];
  #buffered = 0;
  #done = false;

  constructor(readable: ReadableStream<Uint8Array>) {
    this.#reader = readable.getReader();
  }

  /**
   * The next frame, or `null` at a clean end of stream (between frames).
   * Throws {@linkcode TruncatedFrameError} if the stream ends inside a frame.
   */
  async read(): Promise<ReadResult | null> {
    if (!(await this.#fill(HEADER_LENGTH))) {
      if (this.#buffered === 0) return null;
      throw new TruncatedFrameError(`Cannot read ttrpc frame: stream ended inside a header`);
    }
    const header = decodeHeader(this.#take(HEADER_LENGTH));
    if (header.length > MESSAGE_LENGTH_MAX) {
      await this.#skip(header.length);
      return { kind: "oversized", header };
    }
    if (!(await this.#fill(header.length))) {
      throw new TruncatedFrameError(
        `Cannot read ttrpc frame on stream ${header.streamId}: stream ended after ` +
          `${this.#buffered} of ${header.length} payload bytes`,
      );
    }
    const { streamId, type, flags } = header;
    return { kind: "frame", frame: { streamId, type, flags, payload: this.#take(header.length) } };
  }

  /** Stops reading; pending and later reads end. */
  async cancel(reason?: unknown): Promise<void> {
    this.#done = true;
    try {
      await this.#reader.cancel(reason);
    } catch {
      // the stream already failed; nothing left to release
    }
  }

  /** Pulls one chunk; false at end of stream. */
  async #pull(): Promise<boolean> {
    if (this.#done) return false;
    const { done, value } = await this.#reader.read();
    if (done) {
      this.#done = true;
      return false;
    }
    if (value.byteLength > 0) {
      this.#chunks.push(value);
      this.#buffered += value.byteLength;
    }
    return true;
  }

  async #fill(n: number): Promise<boolean> {
    while (this.#buffered < n) {
      if (!(await this.#pull())) return false;
    }
    return true;
  }

  #take(n: number): Uint8Array {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (first === undefined) return new Uint8Array(0);
    if (first.byteLength > n) {
      this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.byteLength === n) {
      this.#chunks.shift();
      return first;
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const chunk = this.#chunks[0]!;
      const used = Math.min(chunk.byteLength, n - at);
      out.set(used === chunk.byteLength ? chunk : chunk.subarray(0, used), at);
      at += used;
      if (used === chunk.byteLength) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    return out;
  }

  /** Discards n bytes without holding them. */
  async #skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#buffered === 0 && !(await this.#pull())) {
        throw new TruncatedFrameError(
          `Cannot discard oversized ttrpc frame: stream ended ${left} bytes early`,
        );
      }
      const chunk = this.#chunks[0];
      if (chunk === undefined) continue;
      const used = Math.min(chunk.byteLength, left);
      if (used === chunk.byteLength) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
      this.#buffered -= used;
      left -= used;
    }
  }
}

/**
 * Writes frames to a byte stream. Each frame is one chunk and the stream's own queue keeps
 * chunks in call order, so concurrent writers never interleave bytes.
 */
export class FrameWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor(writable: WritableStream<Uint8Array>) {
    this.#writer = writable.getWriter();
  }

  /** Writes one frame; rejects payloads over 4 MiB before anything is sent. */
  write(frame: Frame): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(frame);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#writer.write(bytes);
  }

  /** Closes the underlying stream after queued frames are written; never throws. */
  async close(): Promise<void> {
    try {
      await this.#writer.close();
    } catch {
      // already closed or errored
    }
  }
}
