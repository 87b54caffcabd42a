/**
 * Resolving an image at one source: the manifest (through an index by platform when needed), its
 * config and the layer plan, all digest-verified, and the layers' media types checked before any
 * layer byte is fetched.
 *
 * @module
 */
import {
  type Descriptor,
  type Digest,
  formatPlatform,
  type ImageConfig,
  type ImageManifest,
  type ImageReference,
  isConfigMediaType,
  isManifestMediaType,
  type LayerKind,
  layerKind,
  normalizePlatform,
  OciError,
  parseImageConfigBytes,
  type Platform,
  platformMatches,
  selectPlatform,
} from "@coco/lib/oci";
import { ImageError } from "./errors.ts";
import type { RegistryClient } from "./registry/client.ts";

/** One layer to fetch, aligned with its diff_id. */
export interface PlannedLayer {
  descriptor: Descriptor;
  kind: LayerKind;
  diffId: Digest;
}

/** An image resolved at one source. */
export interface ResolvedImage {
  /** Digest and bytes of the document the reference names (index or manifest). */
  topDigest: Digest;
  topBytes: Uint8Array;
  /** The platform manifest and its bytes. */
  manifestDigest: Digest;
  manifestBytes: Uint8Array;
  manifest: ImageManifest;
  configDigest: Digest;
  config: ImageConfig;
  layers: PlannedLayer[];
}

/** Fetches and checks manifest, config and layer plan of `ref` for `platform`. */
export async function resolveImage(
  client: RegistryClient,
  ref: ImageReference,
  platform: Platform,
): Promise<ResolvedImage> {
  const top = await client.manifest(ref.digest ?? ref.tag ?? "latest");
  let manifestDigest = top.digest;
  let manifestBytes = top.bytes;
  let doc = top.document;
  if (doc.kind === "index") {
    const picked = selectPlatform(doc.manifests, platform);
    if (!picked) {
      const have = doc.manifests.flatMap((m) => m.platform ? [formatPlatform(m.platform)] : []);
      throw new ImageError(
        "no_matching_platform",
        `Image ${ref.toString()} has no manifest for ${
          formatPlatform(normalizePlatform(platform))
        } (available: ${have.join(", ") || "none"})`,
      );
    }
    if (!isManifestMediaType(picked.mediaType)) {
      throw new ImageError(
        "unsupported_media_type",
        `Image ${ref.toString()}: index entry ${picked.digest} has media type ${picked.mediaType}, not an image manifest`,
      );
    }
    const inner = await client.manifest(picked.digest);
    if (inner.document.kind !== "manifest") {
      throw new ImageError(
        "invalid_image",
        `Image ${ref.toString()}: index entry ${picked.digest} is not an image manifest`,
      );
    }
    manifestDigest = inner.digest;
    manifestBytes = inner.bytes;
    doc = inner.document;
  }
  const manifest = doc;
  if (!isConfigMediaType(manifest.config.mediaType)) {
    throw new ImageError(
      "unsupported_media_type",
      `Image ${ref.toString()}: config media type ${manifest.config.mediaType} is not an image config`,
    );
  }
  let config: ImageConfig;
  try {
    config = parseImageConfigBytes(await client.blobBytes(manifest.config));
  } catch (e) {
    if (e instanceof OciError) {
      throw new ImageError("invalid_image", `Image ${ref.toString()}: ${e.message}`, { cause: e });
    }
    throw e;
  }
  if (!platformMatches({ os: platform.os, architecture: platform.architecture }, config)) {
    throw new ImageError(
      "no_matching_platform",
      `Image ${ref.toString()} is for ${config.os}/${config.architecture}, not ${
        formatPlatform(platform)
      }`,
    );
  }
  return {
    topDigest: top.digest,
    topBytes: top.bytes,
    manifestDigest,
    manifestBytes,
    manifest,
    configDigest: manifest.config.digest,
    config,
    layers: planLayers(ref, manifest, config),
  };
}

function planLayers(
  ref: ImageReference,
  manifest: ImageManifest,
  config: ImageConfig,
): PlannedLayer[] {
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new ImageError(
      "invalid_image",
      `Image ${ref.toString()}: manifest has ${manifest.layers.length} layers but the config lists ${diffIds.length} diff_ids`,
    );
  }
  return manifest.layers.map((descriptor, i) => {
    const kind = layerKind(descriptor.mediaType);
    if (!kind) {
      throw new ImageError(
        "unsupported_media_type",
        `Image ${ref.toString()}: layer ${descriptor.digest} has unhandled media type ${descriptor.mediaType}`,
      );
    }
    if (descriptor.urls?.length) {
      throw new ImageError(
        "unsupported_media_type",
        `Image ${ref.toString()}: layer ${descriptor.digest} is a foreign layer (urls), which is not fetched`,
      );
    }
    return { descriptor, kind, diffId: diffIds[i]! };
  });
}
