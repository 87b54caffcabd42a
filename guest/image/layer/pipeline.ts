/**
 * One layer through the pipeline: blob stream (digest-checked by the registry client) → decrypt
 * (if encrypted) → decompress → diff_id hash → unpack into a temporary directory of the layer
 * store, committed under its diff_id only when every check has passed. Memory stays bounded by
 * the streams' queues, whatever the layer size.
 *
 * @module
 */
import type { Descriptor, Digest, LayerKind } from "@coco/lib/oci";
import { Digester, hashingStream } from "../_digester.ts";
import { ImageError } from "../errors.ts";
import { decompressor } from "./decompress.ts";
import type { Decryptor, Unpacker } from "./hooks.ts";
import type { LayerStore } from "./store.ts";

/** Inputs for {@link processLayer}. */
export interface LayerJob {
  descriptor: Descriptor;
  kind: LayerKind;
  diffId: Digest;
  /** Opens the (digest-verifying) blob stream. */
  open: () => Promise<ReadableStream<Uint8Array>>;
  store: LayerStore;
  unpack: Unpacker;
  decrypt?: Decryptor | undefined;
  /**
   * Only verify: decrypt, decompress and hash, but do not unpack (the layer is already stored;
   * used for encrypted layers so that the key is still required).
   */
  verifyOnly?: boolean;
  /** Told the size of each decompressed chunk (the pull's garbage budget, see memory.ts). */
  onBytes?: ((bytes: number) => void) | undefined;
}

/**
 * Wraps `source` so the unpacker can read from it without being able to cancel it: after the
 * unpacker returns, {@link Detached.drain} reads the remainder so trailing bytes are hashed and
 * the end-of-stream checks run.
 */
class Detached {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  error: unknown = undefined;
  readonly stream: ReadableStream<Uint8Array>;

  constructor(source: ReadableStream<Uint8Array>) {
    const reader = source.getReader();
    this.#reader = reader;
    this.stream = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const r = await reader.read();
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (e) {
          this.error ??= e;
          controller.error(e);
        }
      },
    }, { highWaterMark: 0 });
  }

  async drain(): Promise<void> {
    try {
      while (!(await this.#reader.read()).done) { /* hashing happens upstream */ }
    } catch (e) {
      this.error ??= e;
      throw e;
    }
  }

  async cancel(reason: unknown): Promise<void> {
    await this.#reader.cancel(reason).catch(() => {});
  }
}

async function layerStream(job: LayerJob): Promise<ReadableStream<Uint8Array>> {
  let s = await job.open();
  if (job.kind.encrypted) {
    if (!job.decrypt) {
      await s.cancel();
      throw new ImageError(
        "decrypt_failed",
        `Layer ${job.descriptor.digest} is encrypted and no decryption keys are configured`,
      );
    }
    try {
      s = await job.decrypt(s, job.descriptor);
    } catch (e) {
      throw asImageError(e, "decrypt_failed", `Cannot decrypt layer ${job.descriptor.digest}`);
    }
  }
  const diff = Digester.for(job.diffId, `diff_id of layer ${job.descriptor.digest}`);
  let last = 0;
  return s.pipeThrough(decompressor(job.kind.compression)).pipeThrough(hashingStream(diff, (d) => {
    const got = d.digest();
    if (got !== job.diffId) {
      throw new ImageError(
        "diff_id_mismatch",
        `Layer ${job.descriptor.digest} unpacks to ${got}, but the image config lists diff_id ${job.diffId}`,
      );
    }
  }, (d) => {
    job.onBytes?.(d.bytes - last);
    last = d.bytes;
  }));
}

function asImageError(
  e: unknown,
  code: "decrypt_failed" | "unpack_failed",
  what: string,
): ImageError {
  if (e instanceof ImageError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  // ocicrypt and unpack errors usually name the layer already: do not say it twice.
  return new ImageError(code, msg.startsWith(`${what}:`) ? msg : `${what}: ${msg}`, { cause: e });
}

/** Runs one layer; resolves to the committed layer directory. */
export async function processLayer(job: LayerJob): Promise<string> {
  const detached = new Detached(await layerStream(job));
  if (job.verifyOnly) {
    await detached.drain();
    return job.store.path(job.diffId);
  }
  const tmp = await job.store.begin();
  try {
    try {
      await job.unpack(detached.stream, tmp);
    } catch (e) {
      // A failure upstream (digest, decrypt, decompress) explains the unpacker's failure.
      throw detached.error ??
        asImageError(e, "unpack_failed", `Cannot unpack layer ${job.descriptor.digest}`);
    }
    await detached.drain();
  } catch (e) {
    await detached.cancel(e);
    await job.store.abort(tmp);
    if (e instanceof ImageError) throw e;
    throw asImageError(e, "unpack_failed", `Layer ${job.descriptor.digest} failed`);
  }
  return await job.store.commit(tmp, job.diffId);
}
