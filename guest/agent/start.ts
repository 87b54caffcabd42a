/**
 * {@linkcode startAgent}: builds the agent from its configuration — policy, runtime, storages,
 * sandbox, ttrpc services — and serves it on the configured channel.
 */
import type { Logger } from "@coco/lib/log";
import { cdh, create } from "@coco/lib/proto";
import { createClient, TtrpcClient, TtrpcServer } from "@coco/lib/ttrpc";
import { becomeSubreaper, killPid, waitPid } from "./_libc.ts";
import type { AgentConfig } from "./config.ts";
import { AgentPaths } from "./paths.ts";
import { AgentPolicy } from "./policy.ts";
import { DEFAULT_POLICY_REGO } from "./policies/embedded.ts";
import { OciRuntime } from "./runtime.ts";
import { Sandbox } from "./sandbox.ts";
import { registerAgentService } from "./service.ts";
import { commandMounter, type ImagePuller, type Mounter } from "./storage/mod.ts";
import { parseChannel, serveChannel } from "./transport.ts";

/** Options of {@linkcode startAgent}. */
export interface StartAgentOptions {
  config: AgentConfig;
  logger: Logger;
  /** Policy text from init-data; wins over `config.policyFile`. */
  initDataPolicy?: string;
  /** Image puller; default: the CDH ImagePullService at `config.cdhSocket`. */
  puller?: ImagePuller;
  mounter?: Mounter;
  initDaemon?: boolean;
  /** Called after DestroySandbox (PID 1 powers off here). */
  onDestroyed?: () => void;
}

/** The running agent. */
export interface RunningAgent {
  address: string;
  sandbox: Sandbox;
  /** Resolves after DestroySandbox or close(). */
  destroyed: Promise<void>;
  close(): Promise<void>;
}

/** The CDH's `api.ImagePullService/PullImage` as an {@linkcode ImagePuller}. */
export function cdhPuller(address: string): ImagePuller {
  return {
    async pullImage(ref, bundleDir) {
      const client = await TtrpcClient.connect(address);
      try {
        await createClient(client, cdh.ImagePullService).pullImage(
          create(cdh.ImagePullRequestSchema, { imageUrl: ref, bundlePath: bundleDir }),
        );
      } finally {
        await client.close();
      }
      return { rootfs: `${bundleDir}/rootfs` };
    },
  };
}

async function loadPolicy(opts: StartAgentOptions): Promise<AgentPolicy> {
  if (opts.initDataPolicy !== undefined) {
    return AgentPolicy.fromText(opts.initDataPolicy, "init-data policy.rego");
  }
  if (opts.config.policyFile) return await AgentPolicy.fromFile(opts.config.policyFile);
  return AgentPolicy.fromText(DEFAULT_POLICY_REGO, "default.rego");
}

/** Starts the agent; the policy must load or the agent does not start (fail closed). */
export async function startAgent(opts: StartAgentOptions): Promise<RunningAgent> {
  const { config, logger } = opts;
  const policy = { current: await loadPolicy(opts) };
  becomeSubreaper();
  const paths = new AgentPaths(config.containerBase);
  await Deno.mkdir(paths.runtimeState, { recursive: true });
  let resolveDestroyed = () => {};
  const destroyed = new Promise<void>((r) => resolveDestroyed = r);
  const sandbox = new Sandbox({
    paths,
    runtime: new OciRuntime({ binary: config.runtime, root: paths.runtimeState }),
    storage: {
      mounter: opts.mounter ?? commandMounter,
      logger,
      ...(opts.puller
        ? { puller: opts.puller }
        : config.cdhSocket
        ? { puller: cdhPuller(config.cdhSocket) }
        : {}),
      pauseBundle: config.pauseBundle,
    },
    processes: { wait: waitPid, kill: killPid },
    logger,
    onDestroyed: () => {
      opts.onDestroyed?.();
      resolveDestroyed();
    },
  });
  const server = new TtrpcServer({ logger });
  registerAgentService(server, {
    sandbox,
    policy,
    logger,
    initDaemon: opts.initDaemon ?? false,
  });
  const channel = await serveChannel(server, parseChannel(config.serverAddr));
  channel.done.catch((err) => logger.error("agent channel failed", { error: err }));
  logger.info("agent ready", { address: channel.address, policy: policy.current.origin });
  return {
    address: channel.address,
    sandbox,
    destroyed,
    async close() {
      channel.close();
      for (const cid of sandbox.containerIds) {
        await sandbox.removeContainer(cid).catch(() => {});
      }
      await server.close({ graceMs: 1000 });
      resolveDestroyed();
    },
  };
}
