/**
 * Confidential Data Hub (spec/guest.md §3): resources from the KBS (through the AA's token) or
 * from offline files, sealed secrets, image pulls (policy, keys, credentials and registry config
 * as `kbs:///` resources) and the `attestation-agent` key provider, served over ttrpc as
 * `api.GetResourceService`, `api.SealedSecretService`, `api.ImagePullService` and
 * `keyprovider.KeyProviderService`.
 *
 * @example
 * ```ts
 * const aaClient = LazyTtrpcClient.forAddress("AA", config.aaSocket);
 * const kbc = createKbc(config.kbc, { tokens: aaTokenProvider(aaClient) });
 * const hub = new ConfidentialDataHub({ kbc, skipSealedSecretVerification: false, logger });
 * registerConfidentialDataHub(new TtrpcServer({ logger }), hub).serve(await listen(config.socket));
 * ```
 *
 * @module
 */
export { aaPullMeasurer } from "./aa_measure.ts";
export { aaTokenProvider, parseAaKbsToken } from "./aa_tokens.ts";
export {
  type CdhConfig,
  cdhConfigFromKbcParams,
  type CdhDefaults,
  checkCredentialPath,
  type Credential,
  CREDENTIALS_DIR,
  DEFAULT_CDH_SOCKET,
  type KbcConfig,
  loadCdhConfig,
  parseCdhConfig,
} from "./config.ts";
export { CdhError, ConfidentialDataHub, type HubOptions } from "./hub.ts";
export {
  DEFAULT_IMAGE_WORK_DIR,
  DEFAULT_MAX_CONCURRENT_LAYERS,
  type ImagePullConfig,
  parseImagePullConfig,
} from "./image_config.ts";
// Types only: the pull pipeline is loaded by the hub on the first PullImage.
export type {
  ImagePuller,
  ImagePullerOptions,
  ImagePullOutcome,
  PullMeasurement,
} from "./image_pull.ts";
export { createKbc, type Kbc, type KbcDeps } from "./kbc.ts";
export { OFFLINE_FS_KBC_FILES, OfflineFsKbc, offlineFsKbcFiles } from "./offline_fs_kbc.ts";
export {
  KbcError,
  type KbcErrorCode,
  type KbsCredentials,
  PassportKbc,
  type TokenProvider,
} from "./passport_kbc.ts";
export {
  parseSecretPayload,
  SEALED_SECRET_KEY_DIR,
  SealedSecretError,
  type SealedSecretErrorCode,
  type SecretPayload,
  type UnsealDeps,
  unsealSecret,
} from "./sealed_secret.ts";
export { registerConfidentialDataHub } from "./service.ts";
