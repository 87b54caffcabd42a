/**
 * Bench/test support: writes a large multi-layer OCI image layout on disk without holding any
 * layer in memory (files are generated in chunks, tarred, gzip-compressed and hashed as they
 * stream to the blob file), ready for `skopeo copy oci:<dir>:<tag> docker://…`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { Duplex } from "node:stream";
import zlib from "node:zlib";
import { digestOf, LayerMediaType, MediaType } from "@coco/lib/oci";
import { tarHeader } from "./tar.ts";

/** A generated file: `size` bytes, `random` (incompressible) or text-like. */
export interface GenFile {
  path: string;
  size: number;
  random?: boolean;
}

const enc = new TextEncoder();

function fileChunks(f: GenFile): ReadableStream<Uint8Array> {
  let left = f.size;
  const text = enc.encode(
    `${f.path} lorem ipsum dolor sit amet, consectetur adipiscing elit\n`.repeat(1024),
  );
  return new ReadableStream({
    pull(c) {
      if (left <= 0) return c.close();
      const n = Math.min(left, 256 * 1024);
      const chunk = new Uint8Array(n);
      if (f.random) {
        for (let i = 0; i < n; i += 65536) {
          crypto.getRandomValues(chunk.subarray(i, Math.min(n, i + 65536)));
        }
      } else {for (let i = 0; i < n; i += text.length) {
          chunk.set(text.subarray(0, Math.min(text.length, n - i)), i);
        }}
      left -= n;
      c.enqueue(chunk);
    },
  });
}

function tarStream(files: GenFile[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async start(c) {
      const dirs = new Set<string>();
      for (const f of files) {
        const parts = f.path.split("/").slice(0, -1);
        for (let i = 1; i <= parts.length; i++) {
          const d = parts.slice(0, i).join("/") + "/";
          if (!dirs.has(d)) {
            dirs.add(d);
            c.enqueue(tarHeader({ path: d, type: "dir" }, 0));
          }
        }
        c.enqueue(tarHeader({ path: f.path }, f.size));
        for await (const chunk of fileChunks(f)) c.enqueue(chunk);
        const pad = (512 - (f.size % 512)) % 512;
        if (pad) c.enqueue(new Uint8Array(pad));
      }
      c.enqueue(new Uint8Array(1024));
      c.close();
    },
  }, { highWaterMark: 4 });
}

/** Writes a gzip layer into `blobs`; returns its descriptor fields and diff_id. */
async function writeLayer(blobs: string, files: GenFile[]) {
  const diff = createHash("sha256");
  const comp = createHash("sha256");
  let size = 0;
  const tmp = `${blobs}/.tmp-${crypto.randomUUID()}`;
  const out = await Deno.open(tmp, { write: true, create: true, truncate: true });
  await tarStream(files)
    .pipeThrough(new TransformStream({ transform: (c, ctl) => (diff.update(c), ctl.enqueue(c)) }))
    .pipeThrough(
      Duplex.toWeb(zlib.createGzip({ level: 1 })) as ReadableWritablePair<Uint8Array, Uint8Array>,
    )
    .pipeThrough(
      new TransformStream({
        transform: (c, ctl) => (comp.update(c), size += c.length, ctl.enqueue(c)),
      }),
    )
    .pipeTo(out.writable);
  const hex = comp.digest("hex");
  await Deno.rename(tmp, `${blobs}/${hex}`);
  return { digest: `sha256:${hex}`, size, diffId: `sha256:${diff.digest("hex")}` };
}

/** Writes an OCI layout at `dir` with tag `tag` and one gzip layer per entry of `layers`. */
export async function writeOciLayout(
  dir: string,
  tag: string,
  layers: GenFile[][],
): Promise<{ bytes: number }> {
  const blobs = `${dir}/blobs/sha256`;
  await Deno.mkdir(blobs, { recursive: true });
  const written = [];
  for (const files of layers) written.push(await writeLayer(blobs, files));
  const put = async (bytes: Uint8Array) => {
    const d = digestOf(bytes);
    await Deno.writeFile(`${blobs}/${d.slice(7)}`, bytes);
    return { digest: d, size: bytes.length };
  };
  const config = await put(enc.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/bin/sh"] },
    rootfs: { type: "layers", diff_ids: written.map((l) => l.diffId) },
  })));
  const manifest = await put(enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, ...config },
    layers: written.map((l) => ({
      mediaType: LayerMediaType.gzip,
      digest: l.digest,
      size: l.size,
    })),
  })));
  await Deno.writeTextFile(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
  await Deno.writeTextFile(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: MediaType.ociManifest,
        ...manifest,
        annotations: { "org.opencontainers.image.ref.name": tag },
      }],
    }),
  );
  return { bytes: written.reduce((n, l) => n + l.size, 0) };
}
