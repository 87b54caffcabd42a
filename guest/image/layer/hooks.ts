/**
 * The injected stages of the layer pipeline, written by other parts of the guest: unpacking a tar
 * stream into a directory (guest/image/unpack), decrypting an encrypted layer (guest/image/
 * ocicrypt) and checking the signature policy (guest/image/signature).
 *
 * @module
 */
import type { Descriptor, Digest, ImageReference } from "@coco/lib/oci";

/**
 * Extracts a tar stream into `targetDir` (which exists and is empty). It must refuse entries that
 * escape the directory. It may stop reading at the end-of-archive marker; the pipeline reads the
 * rest itself to finish the digests.
 */
export type Unpacker = (tar: ReadableStream<Uint8Array>, targetDir: string) => Promise<void>;

/**
 * Decrypts an encrypted layer blob (`+encrypted` media types) described by `descriptor`. The
 * returned stream must error (before it ends) if the ciphertext fails its integrity check.
 */
export type Decryptor = (
  layer: ReadableStream<Uint8Array>,
  descriptor: Descriptor,
) => Promise<ReadableStream<Uint8Array>>;

/** What the signature policy is asked to admit. */
export interface SignatureSubject {
  /** The reference actually pulled (after registries.conf mirrors/remapping), as image-rs. */
  reference: ImageReference;
  /** The reference as requested, before mirrors/remapping. */
  requested: ImageReference;
  /** Digest of the image manifest (the platform manifest when selected from an index). */
  manifestDigest: Digest;
  /** Bytes of that manifest (they hash to `manifestDigest`). */
  manifestBytes: Uint8Array;
  /** Digest of the index / manifest list it was selected from, when there was one. */
  indexDigest?: Digest;
  /** Registry access for signatures stored in the registry. */
  registry: SignatureRegistryAccess;
}

/**
 * Registry access for signature sources (cosign `.sig` manifests, blobs), bound to the
 * repository being pulled and using the pull's credentials, TLS settings and digest checks.
 */
export interface SignatureRegistryAccess {
  /** Manifest bytes at `tag` in `ref`'s repository, or `undefined` on 404. */
  fetchManifest(ref: ImageReference, tag: string): Promise<Uint8Array | undefined>;
  /** A blob of `ref`'s repository, digest-verified. */
  fetchBlob(ref: ImageReference, digest: string): Promise<Uint8Array>;
}

/** Checks the signature policy for the image; throws to reject it. */
export type SignatureCheck = (subject: SignatureSubject) => Promise<void>;
