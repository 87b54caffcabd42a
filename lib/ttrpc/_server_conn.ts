/**
 * One server-side ttrpc connection: the read loop, stream-id rules, per-call deadlines and
 * status mapping. Handlers run concurrently; the read loop never waits for one.
 */
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import { decodeRequest, encodeResponse, MAX_TIMER_MS } from "./_envelope.ts";
import { FrameReader, FrameWriter, MessageType, oversizedMessage } from "./frame.ts";
import { Code, TtrpcError } from "./status.ts";
import type { ByteStream } from "./transport.ts";

/** What a handler sees besides its request. */
export interface CallContext {
  readonly service: string;
  readonly method: string;
  readonly streamId: number;
  /** Request metadata; keys may carry several values. */
  readonly metadata: ReadonlyMap<string, readonly string[]>;
  /** Aborts on the request deadline, on disconnect, and when a graceful close runs out of time. */
  readonly signal: AbortSignal;
  /** Absolute deadline (ms since epoch) from `timeout_nano`, if any. */
  readonly deadline?: number;
}

/** A handler on serialized payloads; throw {@linkcode TtrpcError} to choose the status. */
export type RawHandler = (payload: Uint8Array, ctx: CallContext) => Promise<Uint8Array>;

/** Resolves `/<service>/<method>`; `undefined` means unsupported. */
export type Lookup = (service: string, method: string) => RawHandler | undefined;

interface Outcome {
  code: number;
  message: string;
  payload?: Uint8Array;
}

function outcomeOf(err: unknown): Outcome {
  return err instanceof TtrpcError
    ? { code: err.status, message: err.message }
    : { code: Code.INTERNAL, message: errorMessage(err) };
}

/** Serves one byte stream until it ends or {@linkcode ServerConnection.shutdown} finishes. */
export class ServerConnection {
  readonly #stream: ByteStream;
  readonly #reader: FrameReader;
  readonly #writer: FrameWriter;
  readonly #lookup: Lookup;
  readonly #logger: Logger;
  readonly #active = new Map<number, AbortController>();
  readonly #tasks = new Set<Promise<void>>();
  #lastStreamId = 0;
  #draining = false;
  #idle: (() => void) | null = null;

  constructor(stream: ByteStream, lookup: Lookup, logger: Logger) {
    this.#stream = stream;
    this.#reader = new FrameReader(stream.readable);
    this.#writer = new FrameWriter(stream.writable);
    this.#lookup = lookup;
    this.#logger = logger;
  }

  /** Runs the read loop; resolves once the connection is closed and every call has settled. */
  async run(): Promise<void> {
    try {
      for (;;) {
        const result = await this.#reader.read();
        if (result === null) break;
        if (result.kind === "oversized") {
          const { streamId, length } = result.header;
          this.#logger.warn("ttrpc: discarded oversized frame", { stream: streamId, length });
          const message = oversizedMessage(length);
          void this.#respond(streamId, { code: Code.RESOURCE_EXHAUSTED, message });
          continue;
        }
        const { streamId, type, payload } = result.frame;
        if (type === MessageType.Request) this.#onRequest(streamId, payload);
        else this.#logger.debug("ttrpc: ignoring frame", { stream: streamId, type });
      }
    } catch (err) {
      if (!this.#draining) this.#logger.warn("ttrpc: connection failed", { error: err });
    }
    this.#abortAll(new TtrpcError(Code.CANCELLED, "ttrpc: connection closed"));
    await Promise.allSettled([...this.#tasks]);
    await this.#close();
  }

  /**
   * Stops taking new calls (they get UNAVAILABLE), waits for running ones up to `graceMs`,
   * aborts the rest, then closes the connection.
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#draining = true;
    if (this.#tasks.size > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      this.#abortAll(new TtrpcError(Code.UNAVAILABLE, "ttrpc: server closed"));
      await Promise.allSettled([...this.#tasks]);
    }
    await this.#close();
  }

  async #close(): Promise<void> {
    await this.#reader.cancel();
    await this.#writer.close();
    this.#stream.close();
  }

  #abortAll(reason: TtrpcError): void {
    for (const ac of this.#active.values()) ac.abort(reason);
  }

  #onRequest(streamId: number, payload: Uint8Array): void {
    const reject = (code: number, message: string): void =>
      void this.#respond(streamId, { code, message });
    if (streamId % 2 !== 1) {
      return reject(Code.INVALID_ARGUMENT, "StreamID must be odd for client initiated streams");
    }
    if (streamId <= this.#lastStreamId) {
      return reject(Code.INVALID_ARGUMENT, "StreamID cannot be re-used and must increment");
    }
    this.#lastStreamId = streamId;
    let req;
    try {
      req = decodeRequest(payload);
    } catch (err) {
      return reject(Code.INVALID_ARGUMENT, `Cannot decode ttrpc Request: ${errorMessage(err)}`);
    }
    const { service, method } = req;
    const handler = this.#lookup(service, method);
    if (!handler) return reject(Code.UNIMPLEMENTED, `/${service}/${method} is not supported`);
    if (this.#draining) return reject(Code.UNAVAILABLE, "ttrpc: server is shutting down");
    const metadata = new Map<string, string[]>();
    for (const { key, value } of req.metadata) {
      const list = metadata.get(key);
      if (list) list.push(value);
      else metadata.set(key, [value]);
    }
    const timeoutMs = req.timeoutNano > 0n ? Number(req.timeoutNano) / 1e6 : 0;
    const task = this.#call(
      handler,
      req.payload,
      { service, method, streamId, metadata },
      timeoutMs,
    );
    this.#tasks.add(task);
    task.finally(() => {
      this.#tasks.delete(task);
      if (this.#tasks.size === 0) this.#idle?.();
    });
  }

  async #call(
    handler: RawHandler,
    payload: Uint8Array,
    base: Omit<CallContext, "signal" | "deadline">,
    timeoutMs: number,
  ): Promise<void> {
    const ac = new AbortController();
    const ctx: CallContext = timeoutMs > 0
      ? { ...base, signal: ac.signal, deadline: Date.now() + timeoutMs }
      : { ...base, signal: ac.signal };
    const name = `/${base.service}/${base.method}`;
    const stopped = new Promise<Outcome>((resolve) => {
      ac.signal.addEventListener("abort", () => resolve(outcomeOf(ac.signal.reason)), {
        once: true,
      });
    });
    const timer = timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS
      ? setTimeout(
        () => ac.abort(new TtrpcError(Code.DEADLINE_EXCEEDED, `${name}: deadline exceeded`)),
        timeoutMs,
      )
      : undefined;
    this.#active.set(base.streamId, ac);
    const work = Promise.resolve().then(() => handler(payload, ctx)).then(
      (reply): Outcome => ({ code: Code.OK, message: "", payload: reply }),
      (err): Outcome => {
        if (!(err instanceof TtrpcError)) {
          this.#logger.error("ttrpc: handler failed", { method: name, error: err });
        }
        return outcomeOf(err);
      },
    );
    const outcome = await Promise.race([work, stopped]);
    clearTimeout(timer);
    this.#active.delete(base.streamId);
    await this.#respond(base.streamId, outcome);
  }

  async #respond(streamId: number, outcome: Outcome): Promise<void> {
    let payload = encodeResponse(outcome.code, outcome.message, outcome.payload);
    try {
      await this.#writer.write({ streamId, type: MessageType.Response, flags: 0, payload })
        .catch(async (err) => {
          if (!(err instanceof TtrpcError)) throw err;
          this.#logger.error("ttrpc: response too large", { stream: streamId, error: err });
          payload = encodeResponse(err.status, err.message);
          await this.#writer.write({ streamId, type: MessageType.Response, flags: 0, payload });
        });
    } catch (err) {
      this.#logger.debug("ttrpc: cannot send response", { stream: streamId, error: err });
    }
  }
}
