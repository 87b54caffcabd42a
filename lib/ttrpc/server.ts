/**
 * {@linkcode TtrpcServer}: serves registered unary methods on any number of connections.
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
import { type CallContext, type RawHandler, ServerConnection } from "./_server_conn.ts";
import { Code, TtrpcError } from "./status.ts";
import type { ByteStream, StreamListener } from "./transport.ts";

export type { CallContext, RawHandler } from "./_server_conn.ts";

/** A typed handler: decoded request in, response (or its init shape) out. */
export type Handler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => Promise<MessageInitShape<O>> | MessageInitShape<O>;

/** A unary method: its schemas and handler. Build one with {@linkcode unary}. */
export interface UnaryMethod<
  I extends DescMessage = DescMessage,
  O extends DescMessage = DescMessage,
> {
  readonly input: I;
  readonly output: O;
  // Method syntax on purpose: lets UnaryMethod<Specific> stand in for UnaryMethod<DescMessage>.
  handler(
    request: MessageShape<I>,
    ctx: CallContext,
  ): Promise<MessageInitShape<O>> | MessageInitShape<O>;
}

/** Pairs schemas with a handler so the handler's request and response are typed. */
export function unary<I extends DescMessage, O extends DescMessage>(
  input: I,
  output: O,
  handler: Handler<I, O>,
): UnaryMethod<I, O> {
  return { input, output, handler };
}

/** Handlers for a generated service, keyed by method `localName`; missing ones answer UNIMPLEMENTED. */
export type ServiceImpl<T extends GenServiceMethods> = {
  [K in keyof T]?: Handler<T[K]["input"], T[K]["output"]>;
};

/** Server options. */
export interface ServerOptions {
  /** Receives handler failures (error), connection problems (warn) and protocol noise (debug). */
  logger?: Logger;
}

function toRaw<I extends DescMessage, O extends DescMessage>(m: UnaryMethod<I, O>): RawHandler {
  return async (payload, ctx) => {
    let request: MessageShape<I>;
    try {
      request = fromBinary(m.input, payload);
    } catch (err) {
      throw new TtrpcError(
        Code.INVALID_ARGUMENT,
        `Cannot decode ${m.input.typeName} for /${ctx.service}/${ctx.method}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    const reply = await m.handler(request, ctx);
    return toBinary(m.output, create(m.output, reply));
  };
}

/**
 * A ttrpc server. Register services, then {@linkcode TtrpcServer.serve} a listener and/or
 * {@linkcode TtrpcServer.handle} single streams (e.g. a virtio-serial port).
 *
 * Status mapping (one place): a handler's {@linkcode TtrpcError} keeps its code and message;
 * any other error becomes INTERNAL with the error message and is logged; unknown
 * service/method → UNIMPLEMENTED `/<service>/<method> is not supported`; undecodable request →
 * INVALID_ARGUMENT; deadline (`timeout_nano`) → DEADLINE_EXCEEDED; oversized frame →
 * RESOURCE_EXHAUSTED.
 *
 * @example
 * ```ts
 * const server = new TtrpcServer({ logger });
 * server.registerService(AttestationAgentService, { getTeeType: () => ({ tee: "sample" }) });
 * const listener = await listen("unix:///run/confidential-containers/attestation-agent/attestation-agent.sock");
 * server.serve(listener);
 * // … on SIGTERM:
 * await server.close();
 * ```
 */
export class TtrpcServer {
  readonly #services = new Map<string, Map<string, RawHandler>>();
  readonly #listeners = new Set<StreamListener>();
  readonly #conns = new Set<ServerConnection>();
  readonly #running = new Set<Promise<void>>();
  readonly #serving = new Set<Promise<void>>();
  readonly #logger: Logger;
  #closing = false;

  constructor(options: ServerOptions = {}) {
    this.#logger = options.logger ?? nullLogger;
  }

  /** Registers a handler on serialized payloads for `/<service>/<method>`. */
  registerRaw(service: string, method: string, handler: RawHandler): this {
    let methods = this.#services.get(service);
    if (!methods) this.#services.set(service, methods = new Map());
    methods.set(method, handler);
    return this;
  }

  /**
   * Registers methods of a service by wire name (`"attestation_agent.AttestationAgentService"`,
   * `{ GetTeeType: unary(GetTeeTypeRequestSchema, GetTeeTypeResponseSchema, handler) }`).
   */
  register(service: string, methods: Record<string, UnaryMethod>): this {
    for (const [name, m] of Object.entries(methods)) this.registerRaw(service, name, toRaw(m));
    return this;
  }

  /** Registers a generated service; methods left out of `impl` answer UNIMPLEMENTED. */
  registerService<T extends GenServiceMethods>(service: GenService<T>, impl: ServiceImpl<T>): this {
    const handlers: Record<string, Handler<DescMessage, DescMessage> | undefined> = impl;
    for (const m of service.methods) {
      const handler = handlers[m.localName];
      if (!handler) continue;
      if (m.methodKind !== "unary") {
        throw new TypeError(
          `Cannot register ${service.typeName}/${m.name}: only unary RPCs are supported`,
        );
      }
      this.registerRaw(
        service.typeName,
        m.name,
        toRaw({ input: m.input, output: m.output, handler }),
      );
    }
    return this;
  }

  /** Accepts connections until the listener or the server is closed. */
  serve(listener: StreamListener): Promise<void> {
    const loop = this.#acceptLoop(listener);
    this.#serving.add(loop);
    loop.finally(() => this.#serving.delete(loop)).catch(() => {});
    return loop;
  }

  async #acceptLoop(listener: StreamListener): Promise<void> {
    if (this.#closing) throw new TtrpcError(Code.UNAVAILABLE, "ttrpc: server is closed");
    this.#listeners.add(listener);
    try {
      for await (const stream of listener) void this.handle(stream);
    } catch (err) {
      if (!this.#closing) throw err;
    } finally {
      this.#listeners.delete(listener);
    }
  }

  /** Serves one connection; resolves when it has ended and its calls have settled. */
  handle(stream: ByteStream): Promise<void> {
    if (this.#closing) {
      stream.close();
      return Promise.resolve();
    }
    const conn = new ServerConnection(
      stream,
      (s, m) => this.#services.get(s)?.get(m),
      this.#logger,
    );
    this.#conns.add(conn);
    const run = conn.run().finally(() => {
      this.#conns.delete(conn);
      this.#running.delete(run);
    });
    this.#running.add(run);
    return run;
  }

  /**
   * Graceful shutdown: stops listening, answers new calls UNAVAILABLE, waits up to `graceMs`
   * (default 5000) for running calls, aborts the rest, and closes every connection.
   */
  async close(options: { graceMs?: number } = {}): Promise<void> {
    this.#closing = true;
    for (const listener of this.#listeners) listener.close();
    const graceMs = options.graceMs ?? 5000;
    await Promise.all([...this.#conns].map((c) => c.shutdown(graceMs)));
    await Promise.allSettled([...this.#serving, ...this.#running]);
  }
}
