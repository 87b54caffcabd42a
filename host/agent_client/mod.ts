/**
 * Host-side client for the Kata agent API: {@linkcode AgentClient} (typed stubs over lib/ttrpc)
 * and the `coco-host agent-ctl` subcommand.
 *
 * @module
 */
export { AgentClient } from "./client.ts";
export { agentCtlCommand } from "./cli.ts";
