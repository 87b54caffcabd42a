/** Starting the Attestation Agent role. */
import { parseInitDataToml } from "@coco/lib/initdata";
import type { Logger } from "@coco/lib/log";
import { TtrpcServer } from "@coco/lib/ttrpc";
import { createAttester, resolveAttesterConfig, type TeeSelection } from "../attester/mod.ts";
import {
  type AaConfig,
  AttestationAgent,
  DEFAULT_AA_SOCKET,
  registerAttestationAgent,
} from "../attestation_agent/mod.ts";
import { type RunningRole, serveTtrpc } from "./socket.ts";

/** Options of {@linkcode startAa}. */
export interface StartAaOptions {
  config: AaConfig;
  socket?: string;
  tee: TeeSelection;
  /** Path of an init-data TOML file, sent with every KBS attestation. */
  initDataToml?: string;
  logger: Logger;
}

/** Chooses the attester, builds the agent and serves it. */
export async function startAa(opts: StartAaOptions): Promise<RunningRole> {
  const attester = createAttester(
    await resolveAttesterConfig({ tpm: opts.config.tpm, ...opts.tee }),
  );
  let initData: string | undefined;
  if (opts.initDataToml) {
    initData = await Deno.readTextFile(opts.initDataToml);
    parseInitDataToml(initData); // fail at start-up, not at the first attestation
  }
  const logger = opts.logger.child({ role: "aa" });
  // Start-up checks (init-data binding, WAL recovery) refuse to serve on a mismatch.
  const agent = await AttestationAgent.start({
    attester,
    config: opts.config,
    logger,
    ...(initData !== undefined ? { initData } : {}),
  });
  const server = registerAttestationAgent(new TtrpcServer({ logger }), agent);
  logger.info("attester ready", { tee: attester.tee, additional_tees: attester.additionalTees });
  return await serveTtrpc(server, opts.socket ?? DEFAULT_AA_SOCKET, logger, () => agent.close());
}
