/**
 * Registers `grpc.AgentService` and `grpc.Health` on a ttrpc server. Every AgentService call is
 * first checked by the agent policy (`data.agent_policy.<RequestMessage>` with the request's
 * policy JSON as input); errors are mapped to ttrpc status codes here and only here. Methods not
 * implemented answer UNIMPLEMENTED (the ttrpc server does that for unregistered methods).
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { agent, health } from "@coco/lib/proto";
import type { Logger } from "@coco/lib/log";
import { Code, TtrpcError, type TtrpcServer } from "@coco/lib/ttrpc";
import { AgentError, agentError, type AgentErrorCode } from "./errors.ts";
import { AgentPolicy } from "./policy.ts";
import { toPolicyInput } from "./policy_input.ts";
import { copyFilePolicyInput } from "./copy_file.ts";
import { verifyId } from "./paths.ts";
import type { Sandbox } from "./sandbox.ts";
import type { GuestNetwork } from "./network.ts";
import { readMetrics } from "./metrics.ts";
import { STORAGE_HANDLERS } from "./storage/mod.ts";

/** Agent version reported by Health/Version and GetGuestDetails. */
export const AGENT_VERSION = "0.1.0";

const STATUS: Record<AgentErrorCode, Code> = {
  "invalid-argument": Code.INVALID_ARGUMENT,
  "not-found": Code.NOT_FOUND,
  "already-exists": Code.ALREADY_EXISTS,
  "permission-denied": Code.PERMISSION_DENIED,
  "failed-precondition": Code.FAILED_PRECONDITION,
  "unavailable": Code.UNAVAILABLE,
  "unimplemented": Code.UNIMPLEMENTED,
  "internal": Code.INTERNAL,
};

/** What the service needs: the sandbox, the current policy (swappable) and a logger. */
export interface AgentServiceDeps {
  sandbox: Sandbox;
  policy: { current: AgentPolicy };
  logger: Logger;
  /** True when the agent runs as init (reported in GetGuestDetails). */
  initDaemon: boolean;
  /** The guest network stack (UpdateInterface, UpdateRoutes, List*). */
  network: GuestNetwork;
}

function toStatus(err: unknown, method: string, logger: Logger): TtrpcError {
  if (err instanceof TtrpcError) return err;
  if (err instanceof AgentError) {
    if (err.code === "internal") logger.error("agent call failed", { method, error: err });
    return new TtrpcError(STATUS[err.code], err.message, { cause: err });
  }
  logger.error("agent call failed", { method, error: err });
  const msg = err instanceof Error ? err.message : String(err);
  return new TtrpcError(Code.INTERNAL, `${method}: ${msg}`, { cause: err });
}

/** Registers both services on `server`. */
export function registerAgentService(server: TtrpcServer, deps: AgentServiceDeps): TtrpcServer {
  const { sandbox, logger } = deps;

  /** Wraps a handler: policy check on the request message, then error mapping. */
  function guarded<I extends DescMessage, R>(
    schema: I,
    method: string,
    fn: (req: MessageShape<I>) => Promise<R> | R,
    onDeny?: (err: AgentError) => R,
  ): (req: MessageShape<I>) => Promise<R> {
    const requestName = schema.name;
    return async (req) => {
      try {
        // Ids become paths and policy-state keys: check them before anything else sees them.
        const cid = (req as { containerId?: unknown }).containerId;
        if (typeof cid === "string" && cid !== "") verifyId(cid);
        try {
          const input = schema.typeName === agent.CopyFileRequestSchema.typeName
            ? copyFilePolicyInput(req as agent.CopyFileRequest)
            : toPolicyInput(schema, req);
          deps.policy.current.check(requestName, input);
        } catch (err) {
          if (onDeny && err instanceof AgentError && err.code === "permission-denied") {
            logger.info("policy redacted a call", { method, reason: err.message });
            return onDeny(err);
          }
          throw err;
        }
        return await fn(req);
      } catch (err) {
        throw toStatus(err, method, logger);
      }
    };
  }

  const empty = {};
  const read = (stream: "stdout" | "stderr") =>
    guarded(
      agent.ReadStreamRequestSchema,
      stream === "stdout" ? "ReadStdout" : "ReadStderr",
      async (r) => ({ data: await sandbox.read(r, stream) }),
      // As upstream: a denied read succeeds with no data, which the host sees as EOF.
      () => ({ data: new Uint8Array(0) }),
    );

  server.registerService(agent.AgentService, {
    createSandbox: guarded(agent.CreateSandboxRequestSchema, "CreateSandbox", async (r) => {
      await sandbox.createSandbox(r);
      return empty;
    }),
    destroySandbox: guarded(agent.DestroySandboxRequestSchema, "DestroySandbox", async () => {
      await sandbox.destroySandbox();
      return empty;
    }),
    createContainer: guarded(agent.CreateContainerRequestSchema, "CreateContainer", async (r) => {
      await sandbox.createContainer(r);
      return empty;
    }),
    startContainer: guarded(agent.StartContainerRequestSchema, "StartContainer", async (r) => {
      await sandbox.startContainer(r.containerId);
      return empty;
    }),
    removeContainer: guarded(agent.RemoveContainerRequestSchema, "RemoveContainer", async (r) => {
      await sandbox.removeContainer(r.containerId);
      return empty;
    }),
    execProcess: guarded(agent.ExecProcessRequestSchema, "ExecProcess", async (r) => {
      await sandbox.execProcess(r);
      return empty;
    }),
    signalProcess: guarded(agent.SignalProcessRequestSchema, "SignalProcess", async (r) => {
      await sandbox.signalProcess(r);
      return empty;
    }),
    waitProcess: guarded(agent.WaitProcessRequestSchema, "WaitProcess", async (r) => ({
      status: await sandbox.waitProcess(r.containerId, r.execId),
    })),
    readStdout: read("stdout"),
    readStderr: read("stderr"),
    writeStdin: guarded(agent.WriteStreamRequestSchema, "WriteStdin", async (r) => ({
      len: await sandbox.write(r),
    })),
    closeStdin: guarded(agent.CloseStdinRequestSchema, "CloseStdin", async (r) => {
      await sandbox.closeStdin(r.containerId, r.execId);
      return empty;
    }),
    ttyWinResize: guarded(agent.TtyWinResizeRequestSchema, "TtyWinResize", (r) => {
      sandbox.ttyWinResize(r);
      return empty;
    }),
    statsContainer: guarded(
      agent.StatsContainerRequestSchema,
      "StatsContainer",
      (r) => sandbox.stats(r.containerId),
    ),
    listProcesses: guarded(agent.ListProcessesRequestSchema, "ListProcesses", async (r) => ({
      processList: new TextEncoder().encode(
        (await sandbox.listProcesses(r.containerId)).map((p) => `${p}\n`).join(""),
      ),
    })),
    updateContainer: guarded(agent.UpdateContainerRequestSchema, "UpdateContainer", async (r) => {
      await sandbox.update(r);
      return empty;
    }),
    pauseContainer: guarded(agent.PauseContainerRequestSchema, "PauseContainer", async (r) => {
      await sandbox.pause(r.containerId, false);
      return empty;
    }),
    resumeContainer: guarded(agent.ResumeContainerRequestSchema, "ResumeContainer", async (r) => {
      await sandbox.pause(r.containerId, true);
      return empty;
    }),
    copyFile: guarded(agent.CopyFileRequestSchema, "CopyFile", async (r) => {
      await sandbox.copyFile(r);
      return empty;
    }),
    getGuestDetails: guarded(agent.GuestDetailsRequestSchema, "GetGuestDetails", async (r) => ({
      memBlockSizeBytes: r.memBlockSize ? await memBlockSize() : 0n,
      supportMemHotplugProbe: false,
      agentDetails: {
        version: AGENT_VERSION,
        initDaemon: deps.initDaemon,
        storageHandlers: [...STORAGE_HANDLERS.keys()],
        deviceHandlers: [],
        supportsSeccomp: true,
      },
    })),
    getOOMEvent: guarded(agent.GetOOMEventRequestSchema, "GetOOMEvent", async () => ({
      containerId: await sandbox.oomEvent(),
    })),
    updateInterface: guarded(agent.UpdateInterfaceRequestSchema, "UpdateInterface", (r) => {
      if (!r.interface) throw agentError("invalid-argument", "UpdateInterface: no interface");
      return deps.network.updateInterface(r.interface);
    }),
    updateRoutes: guarded(agent.UpdateRoutesRequestSchema, "UpdateRoutes", async (r) => ({
      Routes: await deps.network.updateRoutes(r.routes?.Routes ?? []),
    })),
    addARPNeighbors: guarded(agent.AddARPNeighborsRequestSchema, "AddARPNeighbors", async (r) => {
      await deps.network.addArpNeighbors(r.neighbors?.ARPNeighbors ?? []);
      return empty;
    }),
    listInterfaces: guarded(agent.ListInterfacesRequestSchema, "ListInterfaces", async () => ({
      Interfaces: await deps.network.listInterfaces(),
    })),
    listRoutes: guarded(agent.ListRoutesRequestSchema, "ListRoutes", async () => ({
      Routes: await deps.network.listRoutes(),
    })),
    getMetrics: guarded(agent.GetMetricsRequestSchema, "GetMetrics", async () => ({
      metrics: await readMetrics(),
    })),
    setPolicy: guarded(agent.SetPolicyRequestSchema, "SetPolicy", (r) => {
      deps.policy.current = AgentPolicy.fromText(r.policy, "SetPolicy");
      logger.info("agent policy replaced by SetPolicy");
      return empty;
    }),
  });

  server.registerService(health.Health, {
    check: () => ({ status: health.HealthCheckResponse_ServingStatus.SERVING }),
    version: () => ({ agentVersion: AGENT_VERSION, grpcVersion: AGENT_VERSION }),
  });
  return server;
}

async function memBlockSize(): Promise<bigint> {
  try {
    const text = await Deno.readTextFile("/sys/devices/system/memory/block_size_bytes");
    return BigInt(`0x${text.trim()}`);
  } catch {
    return 0n;
  }
}
