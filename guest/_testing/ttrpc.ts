/** In-memory ttrpc fixture for guest tests. */
import { memoryPipe, TtrpcClient, TtrpcServer } from "@coco/lib/ttrpc";
import { LazyTtrpcClient } from "../_rpc/lazy_client.ts";

/** A server with services registered and a way to open clients to it over memory pipes. */
export interface MemoryTtrpc extends AsyncDisposable {
  server: TtrpcServer;
  /** A connected client (closed on dispose). */
  client(): TtrpcClient;
  /** A lazy client whose connections are memory pipes to this server. */
  lazy(): LazyTtrpcClient;
}

/** Builds a server, registers services with `setup`, and serves memory-pipe connections. */
export function memoryTtrpc(setup: (server: TtrpcServer) => void): MemoryTtrpc {
  const server = new TtrpcServer();
  setup(server);
  const clients: TtrpcClient[] = [];
  const lazies: LazyTtrpcClient[] = [];
  const pipe = () => {
    const [a, b] = memoryPipe();
    void server.handle(b);
    return a;
  };
  return {
    server,
    client() {
      const c = new TtrpcClient(pipe());
      clients.push(c);
      return c;
    },
    lazy() {
      const l = new LazyTtrpcClient("test peer", () => Promise.resolve(pipe()));
      lazies.push(l);
      return l;
    },
    async [Symbol.asyncDispose]() {
      for (const c of clients) await c.close();
      for (const l of lazies) await l.close();
      await server.close({ graceMs: 500 });
    },
  };
}
