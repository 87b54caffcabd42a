/**
 * Media types of the OCI image spec and Docker image manifest v2 schema 2, and the layer
 * classification the pull pipeline needs: compression and encryption of each layer type.
 *
 * @module
 */

/** Manifest, index and config media types. */
export const MediaType = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
} as const;

/** A manifest media type we can pull. */
export type ManifestMediaType =
  | typeof MediaType.ociManifest
  | typeof MediaType.dockerManifest;
/** An index / manifest list media type. */
export type IndexMediaType = typeof MediaType.ociIndex | typeof MediaType.dockerManifestList;

/** `Accept` header value for manifest GETs: every manifest and index type we parse. */
export const MANIFEST_ACCEPT = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
].join(", ");

/** True for a single-image manifest media type. */
export function isManifestMediaType(t: string): t is ManifestMediaType {
  return t === MediaType.ociManifest || t === MediaType.dockerManifest;
}

/** True for an index / manifest list media type. */
export function isIndexMediaType(t: string): t is IndexMediaType {
  return t === MediaType.ociIndex || t === MediaType.dockerManifestList;
}

/** True for an image config media type. */
export function isConfigMediaType(t: string): boolean {
  return t === MediaType.ociConfig || t === MediaType.dockerConfig;
}

/** How a layer blob is compressed (after any decryption). */
export type Compression = "none" | "gzip" | "zstd";

/** What the pipeline must do with a layer blob. */
export interface LayerKind {
  compression: Compression;
  encrypted: boolean;
  /** The media type with `+encrypted` removed. */
  plainMediaType: string;
}

const OCI_LAYER = "application/vnd.oci.image.layer.v1.tar";
const OCI_NONDIST = "application/vnd.oci.image.layer.nondistributable.v1.tar";
const DOCKER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

const PLAIN: Record<string, Compression> = {
  [OCI_LAYER]: "none",
  [`${OCI_LAYER}+gzip`]: "gzip",
  [`${OCI_LAYER}+zstd`]: "zstd",
  [OCI_NONDIST]: "none",
  [`${OCI_NONDIST}+gzip`]: "gzip",
  [`${OCI_NONDIST}+zstd`]: "zstd",
  [DOCKER_GZIP]: "gzip",
};

/** Layer media types, by name, for building manifests in tests and tools. */
export const LayerMediaType = {
  tar: OCI_LAYER,
  gzip: `${OCI_LAYER}+gzip`,
  zstd: `${OCI_LAYER}+zstd`,
  dockerGzip: DOCKER_GZIP,
  encryptedTar: `${OCI_LAYER}+encrypted`,
  encryptedGzip: `${OCI_LAYER}+gzip+encrypted`,
  encryptedZstd: `${OCI_LAYER}+zstd+encrypted`,
} as const;

/**
 * Classifies a layer media type, or returns undefined when it is not a layer type we handle.
 * Accepts every plain type above and each with `+encrypted` appended (a superset of image-rs,
 * which lacks `+zstd+encrypted`).
 */
export function layerKind(mediaType: string): LayerKind | undefined {
  const encrypted = mediaType.endsWith("+encrypted");
  const plain = encrypted ? mediaType.slice(0, -"+encrypted".length) : mediaType;
  const compression = PLAIN[plain];
  if (compression === undefined) return undefined;
  return { compression, encrypted, plainMediaType: plain };
}
