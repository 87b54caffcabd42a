/**
 * Adapts a {@link RegistryClient} to the registry access signature verification needs: cosign
 * signature manifests by tag (absent → undefined) and digest-verified blobs, in the repository
 * being pulled only.
 *
 * @module
 */
import { type ImageReference, parseDigest } from "@coco/lib/oci";
import { ImageError } from "../errors.ts";
import type { SignatureRegistryAccess } from "../layer/hooks.ts";
import type { RegistryClient } from "./client.ts";

/** Signature registry access bound to `client`'s repository (`name` is its reference name). */
export function signatureAccess(client: RegistryClient, name: string): SignatureRegistryAccess {
  const same = (ref: ImageReference) => {
    if (ref.name !== name) {
      throw new ImageError(
        "registry_error",
        `Signature lookup for ${ref.name} outside the pulled repository ${name}`,
      );
    }
  };
  return {
    async fetchManifest(ref, tag) {
      same(ref);
      try {
        return (await client.manifest(tag)).bytes;
      } catch (e) {
        if (e instanceof ImageError && e.code === "not_found") return undefined;
        throw e;
      }
    },
    async fetchBlob(ref, digest) {
      same(ref);
      return await client.blobByDigest(parseDigest(digest, "signature blob digest"));
    },
  };
}
