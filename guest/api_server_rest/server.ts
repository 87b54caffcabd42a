/**
 * Starts api-server-rest on `Deno.serve`, wiring AA / CDH ttrpc clients per the features gate.
 */
import type { Logger } from "@coco/lib/log";
import { LazyTtrpcClient } from "../_rpc/lazy_client.ts";
import { DEFAULT_AA_SOCKET } from "../attestation_agent/config.ts";
import { DEFAULT_CDH_SOCKET } from "../cdh/config.ts";
import { type AaApi, type CdhApi, ttrpcAaApi, ttrpcCdhApi } from "./backends.ts";
import { type BindAddress, type Features, parseBind } from "./features.ts";
import { createAsrHandler } from "./handler.ts";

/** Default listen address. */
export const DEFAULT_ASR_BIND = "127.0.0.1:8006";

/** Options of {@linkcode startApiServerRest}. */
export interface AsrServerOptions {
  bind?: BindAddress | string;
  features: Features;
  aaAddr?: string;
  cdhAddr?: string;
  logger: Logger;
  /** Backends to use instead of ttrpc clients (tests). */
  aa?: AaApi;
  cdh?: CdhApi;
}

/** A running REST server. */
export interface RunningAsr {
  /** `http://host:port` actually bound. */
  url: string;
  close(): Promise<void>;
}

/** Starts the server; resolves once it is listening. */
export async function startApiServerRest(opts: AsrServerOptions): Promise<RunningAsr> {
  const bind = typeof opts.bind === "string"
    ? parseBind(opts.bind)
    : opts.bind ?? parseBind(DEFAULT_ASR_BIND);
  const wantAa = opts.features !== "resource";
  const wantCdh = opts.features !== "attestation";
  const aaClient = wantAa && !opts.aa
    ? LazyTtrpcClient.forAddress("AA", opts.aaAddr ?? DEFAULT_AA_SOCKET)
    : undefined;
  const cdhClient = wantCdh && !opts.cdh
    ? LazyTtrpcClient.forAddress("CDH", opts.cdhAddr ?? DEFAULT_CDH_SOCKET)
    : undefined;
  const aa = wantAa ? opts.aa ?? ttrpcAaApi(aaClient!) : undefined;
  const cdh = wantCdh ? opts.cdh ?? ttrpcCdhApi(cdhClient!) : undefined;
  const handler = createAsrHandler({
    features: opts.features,
    logger: opts.logger,
    ...(aa ? { aa } : {}),
    ...(cdh ? { cdh } : {}),
  });
  const { promise: listening, resolve } = Promise.withResolvers<Deno.NetAddr>();
  const server = Deno.serve({
    hostname: bind.hostname,
    port: bind.port,
    onListen: (addr) => resolve(addr),
    onError: (err) => {
      opts.logger.error("unhandled request error", { error: err });
      return new Response("Internal Server Error", { status: 500 });
    },
  }, handler);
  const addr = await listening;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return {
    url: `http://${host}:${addr.port}`,
    async close() {
      await server.shutdown();
      await aaClient?.close();
      await cdhClient?.close();
    },
  };
}
