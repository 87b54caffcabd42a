/**
 * The kata-compatible agent (`coco-guest agent`): `grpc.AgentService` and `grpc.Health` over
 * ttrpc, containers with runc, storages, the agent policy, PID-1 duties and init-data. See
 * README.md for decisions and differences from the Kata agent.
 *
 * @module
 */
export { agentCommand } from "./cli.ts";
export { type AgentConfig, DEFAULT_AGENT_CONFIG, resolveAgentConfig } from "./config.ts";
export { AgentError, type AgentErrorCode } from "./errors.ts";
export { AgentPolicy } from "./policy.ts";
export { type RunningAgent, startAgent, type StartAgentOptions } from "./start.ts";
export type { ImagePuller, Mounter } from "./storage/mod.ts";
