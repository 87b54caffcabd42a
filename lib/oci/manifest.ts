/**
 * Image manifests and indexes (OCI and Docker v2 schema 2) with strict parsers. A manifest body
 * is classified by its `mediaType` field, falling back to the HTTP `Content-Type`, and a body
 * whose field contradicts the header is rejected.
 *
 * @module
 */
import { type Descriptor, Fields } from "./descriptor.ts";
import { OciError } from "./errors.ts";
import {
  type IndexMediaType,
  isIndexMediaType,
  isManifestMediaType,
  type ManifestMediaType,
  MediaType,
} from "./media_types.ts";

/** A single-image manifest. */
export interface ImageManifest {
  kind: "manifest";
  schemaVersion: 2;
  mediaType: ManifestMediaType;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
}

/** An OCI index or Docker manifest list. */
export interface ImageIndex {
  kind: "index";
  schemaVersion: 2;
  mediaType: IndexMediaType;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** Either document a manifest GET can return. */
export type ManifestDocument = ImageManifest | ImageIndex;

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes UTF-8 JSON bytes, throwing an {@link OciError} with `code` on failure. */
export function parseJsonBytes(
  bytes: Uint8Array,
  code: "invalid_manifest" | "invalid_config",
  what: string,
): unknown {
  try {
    return JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new OciError(code, `Invalid ${what}: not UTF-8 JSON`, { cause: e });
  }
}

function kindOf(body: Record<string, unknown>, contentType: string | undefined): string {
  const field = body.mediaType;
  const header = contentType?.split(";")[0]?.trim();
  if (typeof field === "string") {
    if (header && header !== field && (isManifestMediaType(header) || isIndexMediaType(header))) {
      throw new OciError(
        "invalid_manifest",
        `Invalid manifest: mediaType "${field}" contradicts Content-Type "${header}"`,
      );
    }
    return field;
  }
  if (field !== undefined) {
    throw new OciError("invalid_manifest", "Invalid manifest: mediaType must be a string");
  }
  if (header && (isManifestMediaType(header) || isIndexMediaType(header))) return header;
  // OCI allows mediaType to be absent; fall back to the shape.
  if ("manifests" in body) return MediaType.ociIndex;
  if ("config" in body) return MediaType.ociManifest;
  throw new OciError("invalid_manifest", "Invalid manifest: cannot tell its media type");
}

/** Parses a manifest or index body (bytes as fetched), given the response `Content-Type`. */
export function parseManifestDocument(
  bytes: Uint8Array,
  contentType?: string,
): ManifestDocument {
  const f = new Fields("invalid_manifest", "manifest");
  const body = f.obj(parseJsonBytes(bytes, "invalid_manifest", "manifest"), "document");
  const mediaType = kindOf(body, contentType);
  if (isManifestMediaType(mediaType)) return parseManifestBody(body, mediaType);
  if (isIndexMediaType(mediaType)) return parseIndexBody(body, mediaType);
  throw new OciError(
    "invalid_manifest",
    `Invalid manifest: unsupported media type "${mediaType.slice(0, 100)}"`,
  );
}

function parseManifestBody(
  body: Record<string, unknown>,
  mediaType: ManifestMediaType,
): ImageManifest {
  const f = new Fields("invalid_manifest", "manifest");
  f.schemaVersion(body.schemaVersion);
  const m: ImageManifest = {
    kind: "manifest",
    schemaVersion: 2,
    mediaType,
    config: f.descriptor(body.config, "config"),
    layers: f.array(body.layers, "layers").map((l, i) => f.descriptor(l, `layers[${i}]`)),
  };
  if (body.annotations !== undefined) m.annotations = f.strMap(body.annotations, "annotations");
  if (body.subject !== undefined) m.subject = f.descriptor(body.subject, "subject");
  return m;
}

function parseIndexBody(body: Record<string, unknown>, mediaType: IndexMediaType): ImageIndex {
  const f = new Fields("invalid_index", "index");
  f.schemaVersion(body.schemaVersion);
  const idx: ImageIndex = {
    kind: "index",
    schemaVersion: 2,
    mediaType,
    manifests: f.array(body.manifests, "manifests").map((d, i) =>
      f.descriptor(d, `manifests[${i}]`)
    ),
  };
  if (body.annotations !== undefined) idx.annotations = f.strMap(body.annotations, "annotations");
  return idx;
}
