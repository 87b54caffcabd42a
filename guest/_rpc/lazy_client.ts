/**
 * {@linkcode LazyTtrpcClient}: a ttrpc client that connects on first use and reconnects once when
 * the connection was closed (as upstream's ASR and CDH clients do on `LocalClosed`).
 */
import { type ByteStream, Code, connect, TtrpcClient, TtrpcError } from "@coco/lib/ttrpc";

/** Opens the byte stream to the peer (a unix socket in production, a memory pipe in tests). */
export type Connector = () => Promise<ByteStream>;

/** Connects lazily to `address` (or through `connector`) and retries once on a dropped connection. */
export class LazyTtrpcClient {
  readonly #connector: Connector;
  readonly #what: string;
  #client: Promise<TtrpcClient> | undefined;

  /** `what` names the peer in errors, e.g. `AA at unix:///run/…/attestation-agent.sock`. */
  constructor(what: string, connector: Connector) {
    this.#what = what;
    this.#connector = connector;
  }

  /** A client for the ttrpc address `address`. */
  static forAddress(peer: string, address: string): LazyTtrpcClient {
    return new LazyTtrpcClient(`${peer} at ${address}`, () => connect(address));
  }

  #get(): Promise<TtrpcClient> {
    this.#client ??= this.#connector().then(
      (stream) => new TtrpcClient(stream),
      (err) => {
        this.#client = undefined;
        throw new TtrpcError(
          Code.UNAVAILABLE,
          `Cannot connect to ${this.#what}: ${(err as Error).message}`,
          { cause: err },
        );
      },
    );
    return this.#client;
  }

  /** Runs `call` on the connection; a call failing with UNAVAILABLE is retried once on a new one. */
  async call<T>(call: (client: TtrpcClient) => Promise<T>): Promise<T> {
    for (let attempt = 0;; attempt++) {
      const pending = this.#get();
      const client = await pending;
      try {
        return await call(client);
      } catch (err) {
        if (attempt > 0 || !(err instanceof TtrpcError) || err.status !== Code.UNAVAILABLE) {
          throw err;
        }
        if (this.#client === pending) this.#client = undefined;
        await client.close().catch(() => {});
      }
    }
  }

  /** Closes the connection if one is open. */
  async close(): Promise<void> {
    const pending = this.#client;
    this.#client = undefined;
    const client = await pending?.catch(() => undefined);
    await client?.close();
  }
}
