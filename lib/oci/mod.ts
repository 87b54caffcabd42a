/**
 * OCI image references, digests, media types, descriptors, manifests, indexes, image configs and
 * platform matching. Every parser takes untrusted input and throws {@link OciError} naming what
 * was wrong.
 *
 * @example
 * ```ts
 * import { parseReference } from "@coco/lib/oci";
 * parseReference("busybox").toString(); // "docker.io/library/busybox:latest"
 * ```
 *
 * @module
 */
export { OciError, type OciErrorCode } from "./errors.ts";
export {
  chainIds,
  type Digest,
  type DigestAlgorithm,
  digestAlgorithm,
  digestHex,
  digestOf,
  isSupportedAlgorithm,
  parseDigest,
} from "./digest.ts";
export {
  DOCKER_HUB,
  ImageReference,
  isShortName,
  NAME_MAX,
  parseReference,
  referenceAt,
} from "./reference.ts";
export {
  type Compression,
  type IndexMediaType,
  isConfigMediaType,
  isIndexMediaType,
  isManifestMediaType,
  type LayerKind,
  layerKind,
  LayerMediaType,
  MANIFEST_ACCEPT,
  type ManifestMediaType,
  MediaType,
} from "./media_types.ts";
export { type Descriptor, parseDescriptor } from "./descriptor.ts";
export {
  type ImageIndex,
  type ImageManifest,
  type ManifestDocument,
  parseManifestDocument,
} from "./manifest.ts";
export {
  type ContainerConfig,
  type ImageConfig,
  parseImageConfig,
  parseImageConfigBytes,
} from "./image_config.ts";
export {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  type Platform,
  platformMatches,
  selectPlatform,
} from "./platform.ts";
