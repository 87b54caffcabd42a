/**
 * api-server-rest (spec/guest.md §4): a loopback-only HTTP API in front of the Attestation Agent
 * and the Confidential Data Hub, for containers in the pod.
 *
 * @example
 * ```ts
 * const asr = await startApiServerRest({ bind: "127.0.0.1:0", features: "all", logger });
 * console.log(`api-server-rest listening on ${asr.url}`);
 * await asr.close();
 * ```
 *
 * @module
 */
export { type AaApi, type CdhApi, ttrpcAaApi, ttrpcCdhApi } from "./backends.ts";
export {
  type BindAddress,
  FEATURES,
  type Features,
  isLoopback,
  parseBind,
  parseFeatures,
} from "./features.ts";
export { ASR_VERSION, type AsrOptions, createAsrHandler, MAX_BODY_BYTES } from "./handler.ts";
export {
  type AsrServerOptions,
  DEFAULT_ASR_BIND,
  type RunningAsr,
  startApiServerRest,
} from "./server.ts";
