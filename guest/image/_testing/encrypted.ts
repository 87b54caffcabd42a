/**
 * Test support: images whose layers are encrypted for the CoCo `attestation-agent` key provider
 * (the layer key wrapped under a KEK that the KBS releases as resource `kid`), made with our own
 * ocicrypt `encryptLayer`, and a writer for OCI layouts so skopeo can sign and push them.
 *
 * @module
 */
import { type Digest, digestOf } from "@coco/lib/oci";
import {
  ATTESTATION_AGENT,
  encryptLayer,
  type LayerDescriptor,
  wrapAnnotationPacket,
} from "../ocicrypt/mod.ts";
import type { BuiltImage } from "./image.ts";

const enc = new TextEncoder();

/** Re-encrypts every layer of `image` for the attestation-agent provider with `kek` / `kid`. */
export async function encryptImageForKbs(
  image: BuiltImage,
  kek: Uint8Array,
  kid: string,
): Promise<BuiltImage> {
  const manifest = JSON.parse(new TextDecoder().decode(image.manifest)) as {
    layers: LayerDescriptor[];
  } & Record<string, unknown>;
  const layers: BuiltImage["layers"] = [];
  const descriptors: LayerDescriptor[] = [];
  for (const l of image.layers) {
    const e = encryptLayer(
      new Blob([new Uint8Array(l.bytes)]).stream(),
      { mediaType: l.mediaType, digest: l.digest, size: l.bytes.length },
      {
        providers: [{
          name: ATTESTATION_AGENT,
          wrap: (opts) => wrapAnnotationPacket(opts, kek, kid),
        }],
      },
    );
    const bytes = new Uint8Array(await new Response(e.stream).arrayBuffer());
    const d = await e.descriptor;
    descriptors.push(d);
    layers.push({ bytes, digest: d.digest as Digest, diffId: l.diffId, mediaType: d.mediaType });
  }
  const bytes = enc.encode(JSON.stringify({ ...manifest, layers: descriptors }));
  return { ...image, manifest: bytes, manifestDigest: digestOf(bytes), layers };
}

/** Writes `image` as the only image of an OCI layout at `dir`, tagged `tag` (for skopeo). */
export async function writeImageLayout(dir: string, tag: string, image: BuiltImage) {
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  const put = (digest: string, bytes: Uint8Array) =>
    Deno.writeFile(`${dir}/blobs/sha256/${digest.slice("sha256:".length)}`, bytes);
  await put(image.configDigest, image.config);
  for (const l of image.layers) await put(l.digest, l.bytes);
  await put(image.manifestDigest, image.manifest);
  await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: image.manifestType,
        digest: image.manifestDigest,
        size: image.manifest.length,
        annotations: { "org.opencontainers.image.ref.name": tag },
      }],
    }),
  );
}
