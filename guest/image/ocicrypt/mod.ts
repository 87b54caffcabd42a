/**
 * ocicrypt for the guest (spec/guest.md §7): encrypted OCI layers as `skopeo copy
 * --encryption-key` and the CoCo `attestation-agent` key provider produce them.
 *
 * - {@linkcode decryptLayer}: ciphertext stream in, plaintext stream out, HMAC and digest checked
 *   at the end (the stream errors if they differ; discard what was built from it).
 * - {@linkcode encryptLayer}: the producer side, for tests, benches and tooling.
 * - Key sources: JWE private keys ({@linkcode loadLayerKeys}, files or `kbs:///` resources) and key
 *   providers ({@linkcode attestationAgentUnwrapper} in process, {@linkcode ttrpcKeyProvider}
 *   to a CDH, {@linkcode commandKeyProvider}); {@linkcode serveUnwrapKey} is the CDH's
 *   `KeyProviderService.UnWrapKey` body.
 *
 * @example
 * ```ts
 * const keys = await loadLayerKeys(["/etc/keys/priv.pem"]);
 * const plain = await decryptLayer(blobStream, descriptor, keys);
 * await unpack(plain.pipeThrough(new DecompressionStream("gzip")), stagingDir);
 * // only now is stagingDir trusted: an HMAC failure would have rejected unpack()
 * ```
 *
 * @module
 */
export {
  type AnnotationPacket,
  ATTESTATION_AGENT,
  attestationAgentUnwrapper,
  parseAnnotationPacket,
  type ResourceGetter,
  serveUnwrapKey,
  unwrapAnnotationPacket,
  wrapAnnotationPacket,
} from "./attestation_agent_provider.ts";
export { BATCH_BYTES, ctrHmacDecryptStream, ctrHmacEncryptStream } from "./cipher.ts";
export {
  type KeyLoadDeps,
  type KeyProviderEntry,
  keyProvidersFromConfig,
  loadLayerKeys,
  parseKeyProviderConfig,
} from "./config.ts";
export { decryptLayer, type LayerKeySource, unwrapPrivateOptions } from "./decrypt.ts";
export {
  type EncryptedLayer,
  encryptLayer,
  type EncryptRecipients,
  type ProviderRecipient,
} from "./encrypt.ts";
export { OcicryptError, type OcicryptErrorCode } from "./errors.ts";
export { type JweRecipient, unwrapJwe, wrapJwe } from "./jwe.ts";
export {
  commandKeyProvider,
  decodeBytesField,
  encodeUnwrapRequest,
  encodeUnwrapResponse,
  type KeyUnwrapper,
  parseUnwrapRequest,
  parseUnwrapResponse,
  type TtrpcCaller,
  ttrpcKeyProvider,
  type UnwrapRequest,
} from "./keyprovider.ts";
export { type JwePrivateKey, parsePrivateKey } from "./keys.ts";
export {
  ANNOTATION_JWE,
  ANNOTATION_PROVIDER_PREFIX,
  ANNOTATION_PUBOPTS,
  CIPHER,
  decryptedMediaType,
  encryptedMediaType,
  isEncryptedMediaType,
  type LayerDescriptor,
  type PrivateOptions,
  type PublicOptions,
} from "./options.ts";
