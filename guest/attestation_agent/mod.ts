/**
 * Attestation Agent (spec/guest.md §1): evidence, tokens and runtime measurement for the guest,
 * served over ttrpc as `attestation_agent.AttestationAgentService`.
 *
 * @example
 * ```ts
 * const agent = new AttestationAgent({ attester, config: defaultAaConfig(), logger });
 * const server = registerAttestationAgent(new TtrpcServer({ logger }), agent);
 * server.serve(await listen(DEFAULT_AA_SOCKET));
 * ```
 *
 * @module
 */
export {
  AaError,
  type AaErrorCode,
  AttestationAgent,
  type AttestationAgentOptions,
  type MeasurementResult,
  REFRESH_TOKEN_METADATA,
} from "./agent.ts";
export {
  type AaConfig,
  aaConfigFromKbcParams,
  DEFAULT_AA_SOCKET,
  defaultAaConfig,
  type KbsTokenConfig,
  loadAaConfig,
  parseAaConfig,
} from "./config.ts";
export { registerAttestationAgent } from "./service.ts";
