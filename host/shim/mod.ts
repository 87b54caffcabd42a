/**
 * The containerd shim v2 (`containerd-shim-coco-v2`): launch protocol (`start`, `delete`,
 * serving mode), the `containerd.task.v2.Task` service mapped to the Kata agent API, stdio
 * through containerd's FIFOs, ordered task events, force guest pull, and a pod backend that is a
 * QEMU pod VM or (development only, not confidential) a local agent process. See README.md.
 *
 * @module
 */
export { runShim } from "./cli.ts";
export { parseShimArgs, type ShimAction, type ShimFlags } from "./flags.ts";
export { type PodRole, podRole, socketAddress, writeAtomic } from "./address.ts";
export {
  CONFIG_ENV,
  DEFAULT_SHIM_CONFIG,
  loadShimConfig,
  parseShimConfig,
  type ShimConfig,
} from "./config.ts";
export { EventPublisher, type TaskEvent } from "./events.ts";
export { ProcessIO } from "./stdio.ts";
export { serveShim, type ServingShim } from "./serve.ts";
export { deleteShim, startShim } from "./launch.ts";
export { ShimError, type ShimErrorCode } from "./errors.ts";
