/** Helpers shared by this folder's tests (not exported from mod.ts). */
import { TtrpcServer } from "./server.ts";
import { listenUnix, type StreamListener } from "./transport.ts";
import type { Logger } from "../log.ts";

const enc = new TextEncoder();

/** Builds bytes from hex strings and ASCII strings (the notation of runtime.md §1.6). */
export function bytes(...parts: Array<string | { ascii: string }>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "string") {
      for (const h of p.split(/\s+/).filter(Boolean)) out.push(parseInt(h, 16));
    } else out.push(...enc.encode(p.ascii));
  }
  return new Uint8Array(out);
}

/** A server listening on a unix socket in a fresh temp dir; dispose to stop and clean up. */
export interface ServerFixture extends AsyncDisposable {
  server: TtrpcServer;
  listener: StreamListener;
  path: string;
}

/** Starts `server` (or a new one) on `<tmp>/run/ttrpc.sock`. */
export async function serveOnTempSocket(
  setup: (server: TtrpcServer) => void,
  logger?: Logger,
): Promise<ServerFixture> {
  const dir = await Deno.makeTempDir({ prefix: "ttrpc_test_" });
  const path = `${dir}/run/ttrpc.sock`;
  const server = new TtrpcServer(logger ? { logger } : {});
  setup(server);
  const listener = await listenUnix(path);
  const serving = server.serve(listener);
  return {
    server,
    listener,
    path,
    async [Symbol.asyncDispose]() {
      await server.close({ graceMs: 1000 });
      await serving;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A promise with its resolver exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
