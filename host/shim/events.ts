/**
 * Publishing task events to containerd (spec/runtime.md §5.5): `Events/Forward` over ttrpc at
 * `$TTRPC_ADDRESS` with an `Envelope` and the `containerd-namespace-ttrpc` metadata; after
 * `retries` failed tries also the `<publish-binary> publish` fallback with the event `Any` on
 * stdin. An event that neither path delivers is retried with a capped back-off for `retryForMs`
 * (10 min by default) — containerd may be restarting, and it reconnects to running shims, so an
 * exit that happened meanwhile must still reach it. Events leave strictly in the order they were
 * published (one queue, one in flight), which is what gives Create → Start → Exit → Delete and
 * ExecAdded → ExecStarted → Exit.
 */
import { type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { create, ctrdEventsService } from "@coco/lib/proto";
import type { Logger } from "@coco/lib/log";
import { createClient, TtrpcClient } from "@coco/lib/ttrpc";

/** One event as containerd receives it. */
export interface TaskEvent {
  topic: string;
  /** Bare proto name, e.g. `containerd.events.TaskExit` (no type.googleapis.com prefix). */
  typeUrl: string;
  value: Uint8Array;
  timestamp: Date;
}

/** Delivers one event; throws when it could not. */
export type EventSink = (event: TaskEvent) => Promise<void>;

/** Options of {@linkcode EventPublisher}. */
export interface PublisherOptions {
  namespace: string;
  logger: Logger;
  /** containerd's ttrpc address (`$TTRPC_ADDRESS`). */
  ttrpcAddress?: string;
  /** `-publish-binary` and `-address`, for the fallback. */
  publishBinary?: string;
  containerdAddress?: string;
  /** Tries per event on the ttrpc path (default 5). */
  retries?: number;
  /** Per-try deadline (default 5 s). */
  timeoutMs?: number;
  /** How long one event is retried before it is dropped (default 10 min). */
  retryForMs?: number;
  /** Longest pause between two tries (default 2 s; the pause grows from 100 ms). */
  maxBackoffMs?: number;
  /** Replaces both transports (tests). */
  sink?: EventSink;
}

/** Ordered, retrying event publisher. */
export class EventPublisher {
  readonly #o: PublisherOptions;
  #tail: Promise<void> = Promise.resolve();
  #client: TtrpcClient | undefined;

  constructor(options: PublisherOptions) {
    this.#o = options;
  }

  /** The containerd namespace events are published in. */
  get namespace(): string {
    return this.#o.namespace;
  }

  /** Queues `msg` for `topic`; returns at once. Delivery failures are logged, never thrown. */
  publish<T extends DescMessage>(topic: string, schema: T, msg: MessageInitShape<T>): void {
    const event: TaskEvent = {
      topic,
      typeUrl: schema.typeName,
      value: toBinary(schema, create(schema, msg)),
      timestamp: new Date(),
    };
    this.#tail = this.#tail.then(() => this.#deliver(event));
  }

  /**
   * Resolves when every queued event has been delivered or given up on, or after `maxWaitMs`
   * (the queue keeps going).
   */
  async flush(maxWaitMs?: number): Promise<void> {
    if (maxWaitMs === undefined) return await this.#tail;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((r) => timer = setTimeout(r, maxWaitMs));
    try {
      await Promise.race([this.#tail, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Gives what is queued at most `maxWaitMs` more (default 10 s), then closes the ttrpc
   * connection; events still undelivered then are dropped (and logged).
   */
  async close(maxWaitMs = 10_000): Promise<void> {
    this.#giveUpAt = Math.min(this.#giveUpAt, Date.now() + maxWaitMs);
    this.#wake?.();
    await this.#tail;
    await this.#client?.close().catch(() => {});
    this.#client = undefined;
  }

  #giveUpAt = Number.POSITIVE_INFINITY;
  #wake: (() => void) | undefined;

  async #deliver(event: TaskEvent): Promise<void> {
    if (this.#o.sink) {
      await this.#o.sink(event).catch((err) =>
        this.#o.logger.error("event lost", { topic: event.topic, error: err })
      );
      return;
    }
    if (!this.#o.ttrpcAddress && !(this.#o.publishBinary && this.#o.containerdAddress)) {
      this.#o.logger.error("event lost: no ttrpc address and no publish binary", {
        topic: event.topic,
      });
      return;
    }
    const tries = this.#o.retries ?? 5;
    const deadline = Date.now() + (this.#o.retryForMs ?? 600_000);
    for (let i = 0;; i++) {
      if (await this.#tryOnce(event, i + 1 >= tries, i)) return;
      const left = Math.min(deadline, this.#giveUpAt) - Date.now();
      if (left <= 0) {
        this.#o.logger.error("event lost", { topic: event.topic, tries: i + 1 });
        return;
      }
      const pause = Math.min(100 * 2 ** Math.min(i, 10), this.#o.maxBackoffMs ?? 2000, left);
      await new Promise<void>((r) => {
        const t = setTimeout(r, pause);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.#wake = undefined;
    }
  }

  /** One try over ttrpc, then (from the `retries`-th try on) the publish binary. */
  async #tryOnce(event: TaskEvent, fallback: boolean, i: number): Promise<boolean> {
    if (this.#o.ttrpcAddress) {
      try {
        await this.#forward(event);
        if (i > 0) this.#o.logger.info("event delivered after retries", { topic: event.topic });
        return true;
      } catch (err) {
        this.#o.logger.warn("event forward failed", { topic: event.topic, try: i + 1, error: err });
        await this.#client?.close().catch(() => {});
        this.#client = undefined;
      }
    }
    if (!fallback && this.#o.ttrpcAddress) return false;
    try {
      await this.#publishBinary(event);
      return true;
    } catch (err) {
      this.#o.logger.warn("event publish fallback failed", { topic: event.topic, error: err });
      return false;
    }
  }

  async #forward(event: TaskEvent): Promise<void> {
    this.#client ??= await TtrpcClient.connect(this.#o.ttrpcAddress!);
    const ms = event.timestamp.getTime();
    await createClient(this.#client, ctrdEventsService.Events).forward({
      envelope: {
        timestamp: { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 },
        namespace: this.#o.namespace,
        topic: event.topic,
        event: { typeUrl: event.typeUrl, value: event.value },
      },
    }, {
      timeoutMs: this.#o.timeoutMs ?? 5000,
      metadata: { "containerd-namespace-ttrpc": [this.#o.namespace] },
    });
  }

  async #publishBinary(event: TaskEvent): Promise<void> {
    const bin = this.#o.publishBinary;
    if (!bin || !this.#o.containerdAddress) {
      throw new Error("no ttrpc address and no publish binary to deliver events with");
    }
    const any = toAny(event);
    const child = new Deno.Command(bin, {
      args: [
        "--address",
        this.#o.containerdAddress,
        "publish",
        "--topic",
        event.topic,
        "--namespace",
        this.#o.namespace,
      ],
      stdin: "piped",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(any);
    await w.close();
    const out = await child.output();
    if (!out.success) {
      throw new Error(`${bin} publish exited ${out.code}: ${new TextDecoder().decode(out.stderr)}`);
    }
  }
}

/** `google.protobuf.Any` bytes for the event (what `containerd publish` reads on stdin). */
function toAny(event: TaskEvent): Uint8Array {
  return toBinary(AnySchema, create(AnySchema, { typeUrl: event.typeUrl, value: event.value }));
}
