/**
 * Image pull inside the guest (image-rs equivalent): registry client, registries.conf, streaming
 * layer pipeline into a content-addressed layer store, bundles. The unpacker, the decryptor and
 * the signature check are injected (see layer/hooks.ts); `layerUnpacker()` is the default.
 *
 * @example
 * ```ts
 * const r = await pullImage("busybox", { workDir: "/run/image", unpack: layerUnpacker() });
 * await createBundle("/run/bundle", { layers: r.layers.map((l) => l.path), config: r.config, scratchDir: "/run/image/overlay" });
 * ```
 *
 * @module
 */
export { ImageError, type ImageErrorCode } from "./errors.ts";
export {
  DEFAULT_CONCURRENCY,
  type PulledLayer,
  pullImage,
  type PullOptions,
  type PullResult,
} from "./pull.ts";
export type {
  Decryptor,
  SignatureCheck,
  SignatureRegistryAccess,
  SignatureSubject,
  Unpacker,
} from "./layer/hooks.ts";
export { layerUnpacker } from "./layer/unpacker.ts";
export { LayerStore } from "./layer/store.ts";
export { jsonProgress, type ProgressEvent, type ProgressSink, ttyProgress } from "./progress.ts";
export {
  DEFAULT_REGISTRIES_CONF,
  loadRegistriesConf,
  parseRegistriesConf,
  parseRegistriesConfValue,
  type PullSource,
  pullSources,
  type RegistriesConf,
} from "./registries_conf.ts";
export {
  type AuthFile,
  type Credentials,
  loadAuthFile,
  lookupCredentials,
  parseAuthFile,
} from "./registry/auth_file.ts";
export { type Endpoint, RegistryClient } from "./registry/client.ts";
export { type Bundle, createBundle, type RootfsMode, runtimeSpec } from "./bundle/mod.ts";
export { DEFAULT_WORK_DIR, pullCommand } from "./cli.ts";
