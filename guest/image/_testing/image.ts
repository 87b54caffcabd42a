/**
 * Test support: builds small OCI/Docker images from tar members and pushes them into a
 * {@link FakeRegistry}.
 *
 * @module
 */
import zlib from "node:zlib";
import { type Digest, digestOf, LayerMediaType, MediaType, type Platform } from "@coco/lib/oci";
import type { FakeRegistry } from "./registry.ts";
import { tar, type TarFile } from "./tar.ts";

const enc = new TextEncoder();

/** A layer to build. */
export interface LayerSpec {
  files: TarFile[];
  compression?: "gzip" | "zstd" | "none";
}

/** A built image, ready to push. */
export interface BuiltImage {
  manifest: Uint8Array;
  manifestDigest: Digest;
  manifestType: string;
  config: Uint8Array;
  configDigest: Digest;
  layers: { bytes: Uint8Array; digest: Digest; diffId: Digest; mediaType: string }[];
}

/** Options of {@link buildImage}. */
export interface BuildOptions {
  platform?: Platform;
  docker?: boolean;
  run?: Record<string, unknown>;
  /** Edit the config object before it is serialised (to make it lie, for example). */
  editConfig?: (c: Record<string, unknown>) => void;
}

function compress(t: Uint8Array, c: "gzip" | "zstd" | "none"): Uint8Array {
  // Copy out of node Buffers: Buffer.slice() shares memory, which surprises tests.
  if (c === "gzip") return new Uint8Array(zlib.gzipSync(t, { level: 1 }));
  if (c === "zstd") return new Uint8Array(zlib.zstdCompressSync(t));
  return t;
}

/** Builds an image; layers compress with gzip by default. */
export function buildImage(layers: LayerSpec[], o: BuildOptions = {}): BuiltImage {
  const platform = o.platform ?? { os: "linux", architecture: "amd64" };
  const built = layers.map((l) => {
    const raw = tar(l.files);
    const c = l.compression ?? "gzip";
    const bytes = compress(raw, c);
    const mediaType = o.docker
      ? LayerMediaType.dockerGzip
      : { gzip: LayerMediaType.gzip, zstd: LayerMediaType.zstd, none: LayerMediaType.tar }[c];
    return { bytes, digest: digestOf(bytes), diffId: digestOf(raw), mediaType };
  });
  const cfg: Record<string, unknown> = {
    ...platform,
    config: o.run ?? { Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: built.map((l) => l.diffId) },
  };
  o.editConfig?.(cfg);
  const config = enc.encode(JSON.stringify(cfg));
  const configDigest = digestOf(config);
  const manifestType = o.docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: manifestType,
    config: {
      mediaType: o.docker ? MediaType.dockerConfig : MediaType.ociConfig,
      digest: configDigest,
      size: config.length,
    },
    layers: built.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.bytes.length })),
  }));
  return {
    manifest,
    manifestDigest: digestOf(manifest),
    manifestType,
    config,
    configDigest,
    layers: built,
  };
}

/** Pushes `image` to `reg` as `repo:tag`. */
export function pushImage(reg: FakeRegistry, repo: string, tag: string, image: BuiltImage): Digest {
  reg.putBlob(image.config);
  for (const l of image.layers) reg.putBlob(l.bytes);
  return reg.putManifest(repo, tag, image.manifest, image.manifestType);
}

/** Pushes an OCI index over several already-pushed images. */
export function pushIndex(
  reg: FakeRegistry,
  repo: string,
  tag: string,
  entries: { image: BuiltImage; platform: Platform }[],
): Digest {
  const index = enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: entries.map((e) => ({
      mediaType: e.image.manifestType,
      digest: e.image.manifestDigest,
      size: e.image.manifest.length,
      platform: e.platform,
    })),
  }));
  for (const e of entries) {
    pushImage(reg, repo, `p-${e.image.manifestDigest.slice(7, 19)}`, e.image);
  }
  return reg.putManifest(repo, tag, index, MediaType.ociIndex);
}
