/**
 * {@linkcode AgentClient}: a typed host-side client for the Kata agent API over ttrpc
 * (`grpc.AgentService` and `grpc.Health`), on a unix socket, vsock, or any byte stream (a QEMU
 * virtio-serial chardev socket is a unix socket on the host).
 */
import { agent, health } from "@coco/lib/proto";
import type { GenService, GenServiceMethods } from "@coco/lib/proto";
import { type ByteStream, createClient, type ServiceClient, TtrpcClient } from "@coco/lib/ttrpc";

type Methods<S> = S extends GenService<infer T extends GenServiceMethods> ? T : never;

/** Typed stubs for both agent services on one connection. */
export class AgentClient {
  readonly #conn: TtrpcClient;
  /** `grpc.AgentService` methods (`createContainer`, `readStdout`, …). */
  readonly agent: ServiceClient<Methods<typeof agent.AgentService>>;
  /** `grpc.Health` methods (`check`, `version`). */
  readonly health: ServiceClient<Methods<typeof health.Health>>;

  constructor(conn: TtrpcClient) {
    this.#conn = conn;
    this.agent = createClient(conn, agent.AgentService);
    this.health = createClient(conn, health.Health);
  }

  /** Connects to `unix:///…` or `vsock://CID:PORT`. */
  static async connect(address: string): Promise<AgentClient> {
    return new AgentClient(await TtrpcClient.connect(address));
  }

  /** Wraps an already open byte stream. */
  static fromStream(stream: ByteStream): AgentClient {
    return new AgentClient(new TtrpcClient(stream));
  }

  /** Reads a process stream until EOF (empty data), concatenated. */
  async readAll(
    containerId: string,
    execId: string,
    stream: "stdout" | "stderr" = "stdout",
  ): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const req = { containerId, execId, len: 32 * 1024 };
      const { data } = stream === "stdout"
        ? await this.agent.readStdout(req)
        : await this.agent.readStderr(req);
      if (data.length === 0) break;
      parts.push(data);
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#conn.close();
  }
}
