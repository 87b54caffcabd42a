/** Starting the Confidential Data Hub role. */
import type { Logger } from "@coco/lib/log";
import { TtrpcServer } from "@coco/lib/ttrpc";
import { LazyTtrpcClient } from "../_rpc/lazy_client.ts";
import {
  aaPullMeasurer,
  aaTokenProvider,
  type CdhConfig,
  ConfidentialDataHub,
  createKbc,
  registerConfidentialDataHub,
} from "../cdh/mod.ts";
import { type RunningRole, serveTtrpc } from "./socket.ts";

/** Options of {@linkcode startCdh}. */
export interface StartCdhOptions {
  config: CdhConfig;
  logger: Logger;
  offlineFiles?: readonly string[];
  sealedSecretKeyDir?: string;
}

/** Provisions credentials, then serves the CDH services. */
export async function startCdh(opts: StartCdhOptions): Promise<RunningRole> {
  const logger = opts.logger.child({ role: "cdh" });
  const aa = LazyTtrpcClient.forAddress("AA", opts.config.aaSocket);
  const kbc = createKbc(opts.config.kbc, {
    tokens: aaTokenProvider(aa),
    ...(opts.offlineFiles ? { offlineFiles: opts.offlineFiles } : {}),
  });
  const hub = new ConfidentialDataHub({
    kbc,
    skipSealedSecretVerification: opts.config.skipSealedSecretVerification ||
      Deno.env.get("SKIP_SEALED_SECRET_VERIFICATION") === "true",
    logger,
    ...(opts.sealedSecretKeyDir ? { sealedSecretKeyDir: opts.sealedSecretKeyDir } : {}),
    image: opts.config.image,
    measure: aaPullMeasurer(aa, opts.config.aaSocket, logger),
  });
  const cleanup = async () => {
    hub.close();
    await aa.close();
  };
  try {
    await hub.provisionCredentials(opts.config.credentials);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const server = registerConfidentialDataHub(new TtrpcServer({ logger }), hub, logger);
  logger.info("kbc ready", { kbc: opts.config.kbc.name, aa: opts.config.aaSocket });
  return await serveTtrpc(server, opts.config.socket, logger, cleanup);
}
