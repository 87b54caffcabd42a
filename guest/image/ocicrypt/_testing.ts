/**
 * Test and bench helpers (not exported from mod.ts): OCI image layouts written and read by hand
 * (spec/guest.md §7.7 step 1), deterministic gzip layer blobs, and key pairs in PEM/JWK.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import type { LayerDescriptor } from "./options.ts";

/** `sha256:<hex>` of bytes. */
export function sha256(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Reads a stream to one buffer (tests only: small layers). */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** A stream of `bytes` in chunks of `chunk` bytes (exercises batching across odd boundaries). */
export function chunked(bytes: Uint8Array, chunk = 7_001): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= bytes.length) return c.close();
      c.enqueue(bytes.slice(off, off + chunk));
      off += chunk;
    },
  });
}

/** Deterministic, somewhat compressible bytes. */
export function pseudoRandom(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 24) & (i % 3 === 0 ? 0x0f : 0xff);
  }
  return out;
}

/** gzip of `bytes`. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const gz = new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>;
  return await collect(chunked(bytes, 1 << 16).pipeThrough(gz));
}

/** An RSA or EC key pair: private PEM (PKCS#8), public PEM (SPKI) and public JWK. */
export function keyPair(kind: "rsa" | "ec", curve = "P-256") {
  const { privateKey, publicKey } = kind === "rsa"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : generateKeyPairSync("ec", { namedCurve: curve });
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    publicPem: publicKey.export({ type: "spki", format: "pem" }) as string,
    publicJwk: publicKey.export({ format: "jwk" }) as JsonWebKey,
  };
}

/** An image in an OCI layout: manifest and config descriptors plus its layers. */
export interface LayoutImage {
  manifest: { config: LayerDescriptor; layers: LayerDescriptor[] };
  manifestDigest: string;
}

const enc = new TextEncoder();

/** Stores a blob in an OCI layout; returns its digest. */
export async function putBlob(dir: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  await Deno.mkdir(`${dir}/blobs/sha256`, { recursive: true });
  await Deno.writeFile(`${dir}/blobs/sha256/${digest.slice(7)}`, bytes);
  return digest;
}

/** Writes a one-image OCI layout at `dir` tagged `tag`, with gzip layers of `contents`. */
export async function writeOciLayout(
  dir: string,
  tag: string,
  layers: Uint8Array[],
): Promise<LayoutImage> {
  const descs: LayerDescriptor[] = [];
  const diffIds: string[] = [];
  for (const raw of layers) {
    const gz = await gzip(raw);
    diffIds.push(sha256(raw));
    descs.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: await putBlob(dir, gz),
      size: gz.length,
    });
  }
  const config = enc.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: diffIds },
  }));
  return await writeManifest(dir, tag, config, descs);
}

/** Writes config and manifest blobs and tags the manifest `tag` in `index.json`. */
export async function writeManifest(
  dir: string,
  tag: string,
  config: Uint8Array,
  layers: LayerDescriptor[],
): Promise<LayoutImage> {
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: await putBlob(dir, config),
      size: config.length,
    },
    layers,
  };
  const mbytes = enc.encode(JSON.stringify(manifest));
  const manifestDigest = await putBlob(dir, mbytes);
  await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: manifest.mediaType,
        digest: manifestDigest,
        size: mbytes.length,
        annotations: { "org.opencontainers.image.ref.name": tag },
      }],
    }),
  );
  return { manifest, manifestDigest };
}

/** Reads the image tagged `tag` from an OCI layout. */
export async function readOciLayout(dir: string, tag: string): Promise<LayoutImage> {
  const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`)) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const entry = index.manifests.find((m) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === tag
  );
  if (!entry) throw new Error(`tag ${tag} not in ${dir}`);
  const manifest = JSON.parse(
    await Deno.readTextFile(`${dir}/blobs/sha256/${entry.digest.slice(7)}`),
  ) as LayoutImage["manifest"];
  return { manifest, manifestDigest: entry.digest };
}

/** Path of a blob in an OCI layout. */
export function blobPath(dir: string, digest: string): string {
  return `${dir}/blobs/${digest.replace(":", "/")}`;
}

/** Runs a command; throws with its stderr when it fails. */
export async function run(cmd: string, args: string[], env?: Record<string, string>) {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    ...(env ? { env } : {}),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${text(out.stderr)}`);
  return { stdout: text(out.stdout), stderr: text(out.stderr) };
}
