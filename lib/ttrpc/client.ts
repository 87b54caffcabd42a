/**
 * {@linkcode TtrpcClient}: unary ttrpc calls over one byte stream, any number in flight.
 */
import {
  create,
  type DescMessage,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { errorMessage } from "../errors.ts";
import { type Logger, nullLogger } from "../log.ts";
import { decodeResponse, encodeRequest, MAX_TIMER_MS, type Metadata } from "./_envelope.ts";
import {
  FrameReader,
  FrameWriter,
  MESSAGE_LENGTH_MAX,
  MessageType,
  oversizedMessage,
} from "./frame.ts";
import { Code, TtrpcError } from "./status.ts";
import { type Address, type ByteStream, connect } from "./transport.ts";

export type { Metadata } from "./_envelope.ts";

/** Per-call options. */
export interface CallOptions {
  /** Deadline in milliseconds: sent as `timeout_nano` and enforced locally (DEADLINE_EXCEEDED). */
  timeoutMs?: number;
  /** Request metadata (`ttrpc.KeyValue` pairs). */
  metadata?: Metadata;
  /** Aborting rejects the call with CANCELLED (the server is not told; ttrpc has no cancel). */
  signal?: AbortSignal;
}

/** Client options. */
export interface ClientOptions {
  logger?: Logger;
}

interface Pending {
  resolve(payload: Uint8Array): void;
  reject(err: TtrpcError): void;
}

const MAX_STREAM_ID = 0xffff_ffff;

/**
 * A ttrpc client over one connection. Stream ids are odd and increase from 1; responses are
 * matched by stream id, so calls may complete in any order. When the connection ends every
 * pending call rejects with UNAVAILABLE.
 *
 * @example
 * ```ts
 * const client = await TtrpcClient.connect("unix:///run/confidential-containers/attestation-agent/attestation-agent.sock");
 * const aa = createClient(client, AttestationAgentService);
 * const { tee } = await aa.getTeeType({}, { timeoutMs: 50_000 });
 * await client.close();
 * ```
 */
export class TtrpcClient {
  readonly #stream: ByteStream;
  readonly #reader: FrameReader;
  readonly #writer: FrameWriter;
  readonly #logger: Logger;
  readonly #pending = new Map<number, Pending>();
  readonly #loop: Promise<void>;
  #nextId = 1;
  #closedError: TtrpcError | null = null;

  constructor(stream: ByteStream, options: ClientOptions = {}) {
    this.#stream = stream;
    this.#logger = options.logger ?? nullLogger;
    this.#reader = new FrameReader(stream.readable);
    this.#writer = new FrameWriter(stream.writable);
    this.#loop = this.#readLoop();
  }

  /** Connects to `unix://…` / `vsock://…` and returns a client on that connection. */
  static async connect(address: Address | string, options?: ClientOptions): Promise<TtrpcClient> {
    return new TtrpcClient(await connect(address), options);
  }

  /** Resolves when the connection has ended (closed by either side). */
  get closed(): Promise<void> {
    return this.#loop;
  }

  /** Calls `/<service>/<method>` with protobuf schemas; rejects with {@linkcode TtrpcError}. */
  async call<I extends DescMessage, O extends DescMessage>(
    service: string,
    method: string,
    input: I,
    output: O,
    request: MessageInitShape<I>,
    options: CallOptions = {},
  ): Promise<MessageShape<O>> {
    const payload = toBinary(input, create(input, request));
    const reply = await this.callRaw(service, method, payload, options);
    try {
      return fromBinary(output, reply);
    } catch (err) {
      throw new TtrpcError(
        Code.INTERNAL,
        `Cannot decode ${output.typeName} from /${service}/${method}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }

  /** Calls `/<service>/<method>` with an already serialized payload; resolves with the reply bytes. */
  callRaw(
    service: string,
    method: string,
    payload: Uint8Array,
    options: CallOptions = {},
  ): Promise<Uint8Array> {
    const fail = (code: number, msg: string) => Promise.reject(new TtrpcError(code, msg));
    if (this.#closedError) return Promise.reject(this.#closedError);
    if (options.signal?.aborted) return fail(Code.CANCELLED, `/${service}/${method}: canceled`);
    const timeoutMs = options.timeoutMs ?? 0;
    const frame = encodeRequest(
      service,
      method,
      payload,
      BigInt(Math.max(0, Math.round(timeoutMs * 1e6))),
      options.metadata,
    );
    if (frame.byteLength > MESSAGE_LENGTH_MAX) {
      return fail(Code.RESOURCE_EXHAUSTED, oversizedMessage(frame.byteLength));
    }
    if (this.#nextId > MAX_STREAM_ID) {
      return fail(Code.UNAVAILABLE, "ttrpc: stream ids exhausted on this connection");
    }
    const streamId = this.#nextId;
    this.#nextId += 2;
    return new Promise<Uint8Array>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () =>
        settle(() => reject(new TtrpcError(Code.CANCELLED, `/${service}/${method}: canceled`)));
      const settle = (then: () => void) => {
        if (!this.#pending.delete(streamId)) return;
        if (timer !== undefined) clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort);
        then();
      };
      this.#pending.set(streamId, {
        resolve: (p) => settle(() => resolve(p)),
        reject: (e) => settle(() => reject(e)),
      });
      if (timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS) {
        timer = setTimeout(() =>
          settle(() =>
            reject(
              new TtrpcError(
                Code.DEADLINE_EXCEEDED,
                `/${service}/${method}: deadline of ${timeoutMs} ms exceeded`,
              ),
            )
          ), timeoutMs);
      }
      options.signal?.addEventListener("abort", onAbort, { once: true });
      this.#writer.write({ streamId, type: MessageType.Request, flags: 0, payload: frame }).catch(
        (err) => {
          this.#pending.get(streamId)?.reject(
            new TtrpcError(
              Code.UNAVAILABLE,
              `Cannot send /${service}/${method}: ${errorMessage(err)}`,
              {
                cause: err,
              },
            ),
          );
        },
      );
    });
  }

  /** Closes the connection; pending calls reject with UNAVAILABLE. Idempotent. */
  async close(): Promise<void> {
    this.#fail(new TtrpcError(Code.UNAVAILABLE, "ttrpc: client closed"));
    await this.#reader.cancel();
    await this.#writer.close();
    this.#stream.close();
    await this.#loop;
  }

  #fail(err: TtrpcError): void {
    this.#closedError ??= err;
    for (const pending of [...this.#pending.values()]) pending.reject(this.#closedError);
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        const result = await this.#reader.read();
        if (result === null) break;
        if (result.kind === "oversized") {
          const { streamId, length } = result.header;
          this.#pending.get(streamId)?.reject(
            new TtrpcError(Code.RESOURCE_EXHAUSTED, oversizedMessage(length)),
          );
          continue;
        }
        const { frame } = result;
        if (frame.type !== MessageType.Response) {
          this.#logger.debug("ttrpc client: ignoring frame", {
            type: frame.type,
            stream: frame.streamId,
          });
          continue;
        }
        this.#dispatch(frame.streamId, frame.payload);
      }
    } catch (err) {
      if (!this.#closedError) this.#logger.debug("ttrpc client: connection failed", { error: err });
    } finally {
      this.#fail(new TtrpcError(Code.UNAVAILABLE, "ttrpc: connection closed"));
      this.#stream.close();
    }
  }

  #dispatch(streamId: number, bytes: Uint8Array): void {
    const pending = this.#pending.get(streamId);
    if (!pending) return; // timed out, canceled, or a stray id
    let response;
    try {
      response = decodeResponse(bytes);
    } catch (err) {
      pending.reject(
        new TtrpcError(Code.INTERNAL, `Cannot decode ttrpc Response: ${errorMessage(err)}`, {
          cause: err,
        }),
      );
      return;
    }
    const status = response.status;
    if (status && status.code !== Code.OK) {
      pending.reject(new TtrpcError(status.code, status.message));
    } else pending.resolve(response.payload);
  }
}

/** A typed client for a generated service: one method per RPC, named by its `localName`. */
export type ServiceClient<T extends GenServiceMethods> = {
  [K in keyof T]: (
    request: MessageInitShape<T[K]["input"]>,
    options?: CallOptions,
  ) => Promise<MessageShape<T[K]["output"]>>;
};

/**
 * Builds a typed client from a generated service descriptor.
 *
 * @example
 * ```ts
 * const cdh = createClient(client, GetResourceService);
 * const { Resource } = await cdh.getResource({ ResourcePath: "kbs:///default/key/1" });
 * ```
 */
export function createClient<T extends GenServiceMethods>(
  client: TtrpcClient,
  service: GenService<T>,
): ServiceClient<T> {
  const out: Record<string, (req: MessageInitShape<DescMessage>, o?: CallOptions) => unknown> = {};
  for (const m of service.methods) {
    out[m.localName] = (req, o) =>
      m.methodKind === "unary"
        ? client.call(service.typeName, m.name, m.input, m.output, req, o)
        : Promise.reject(
          new TtrpcError(
            Code.UNIMPLEMENTED,
            `/${service.typeName}/${m.name}: streaming is not supported`,
          ),
        );
  }
  return out as ServiceClient<T>;
}
