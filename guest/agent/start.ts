/**
 * {@linkcode startAgent}: builds the agent from its configuration — policy, runtime, storages,
 * sandbox, ttrpc services — and serves it on the configured channel.
 */
import type { Logger } from "@coco/lib/log";
import { cdh, create } from "@coco/lib/proto";
import { createClient, TtrpcClient, TtrpcServer } from "@coco/lib/ttrpc";
import { becomeSubreaper, killPid, waitPid } from "@coco/lib/sys";
import type { AgentConfig } from "./config.ts";
import { guestImagePuller, imagePullConfigFromCdhToml } from "./image_puller.ts";
import { GuestNetwork } from "./network.ts";
import { loadModule } from "./pid1.ts";
import { AgentPaths } from "./paths.ts";
import { AgentPolicy } from "./policy.ts";
import { DEFAULT_POLICY_REGO } from "./policies/embedded.ts";
import { OciRuntime } from "./runtime.ts";
import { Sandbox } from "./sandbox.ts";
import { registerAgentService } from "./service.ts";
import { type ImagePuller, type Mounter, syscallMounter } from "./storage/mod.ts";
import { parseChannel, serveChannel } from "./transport.ts";

/** Options of {@linkcode startAgent}. */
export interface StartAgentOptions {
  config: AgentConfig;
  logger: Logger;
  /** Policy text from init-data; wins over `config.policyFile`. */
  initDataPolicy?: string;
  /** cdh.toml text from init-data (its `[image]` section configures pulls). */
  cdhToml?: string;
  /** Image puller; default: guest/image's pipeline (see `image_puller.ts`). */
  puller?: ImagePuller;
  mounter?: Mounter;
  network?: GuestNetwork;
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

/** The CDH's `api.GetResourceService/GetResource` on `address`, one connection per call. */
export function cdhResourceGetter(address: string): (uri: string) => Promise<Uint8Array> {
  return async (uri) => {
    const client = await TtrpcClient.connect(address);
    try {
      const r = await createClient(client, cdh.GetResourceService).getResource(
        create(cdh.GetResourceRequestSchema, { ResourcePath: uri }),
      );
      return r.Resource;
    } finally {
      await client.close();
    }
  };
}

async function defaultPuller(opts: StartAgentOptions): Promise<ImagePuller> {
  const { config } = opts;
  let text = opts.cdhToml;
  let where = "init-data cdh.toml";
  if (text === undefined && config.cdhConfig) {
    text = await Deno.readTextFile(config.cdhConfig);
    where = config.cdhConfig;
  }
  return guestImagePuller({
    config: imagePullConfigFromCdhToml(text, where),
    logger: opts.logger.child({ role: "image" }),
    ...(config.cdhSocket ? { getResource: cdhResourceGetter(config.cdhSocket) } : {}),
  });
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
      mounter: opts.mounter ?? syscallMounter,
      logger,
      puller: opts.puller ?? await defaultPuller(opts),
      pauseBundle: config.pauseBundle,
    },
    processes: { wait: waitPid, kill: killPid },
    ...(opts.initDaemon ? { loadModule } : {}),
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
    network: opts.network ?? new GuestNetwork(),
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
