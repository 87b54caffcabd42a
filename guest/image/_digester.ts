/**
 * Incremental sha256/sha512 hashing of streamed bytes (node:crypto, native speed), used to check
 * blob digests, sizes and layer diff_ids as the bytes pass.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import {
  type Digest,
  type DigestAlgorithm,
  digestAlgorithm,
  isSupportedAlgorithm,
} from "@coco/lib/oci";
import { ImageError } from "./errors.ts";

/** Hashes bytes incrementally and counts them. */
export class Digester {
  readonly algorithm: DigestAlgorithm;
  #hash: Hash;
  bytes = 0;

  constructor(algorithm: DigestAlgorithm) {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  /** A digester for the algorithm `expected` uses; unsupported algorithms are refused. */
  static for(expected: Digest, what: string): Digester {
    const alg = digestAlgorithm(expected);
    if (!isSupportedAlgorithm(alg)) {
      throw new ImageError(
        "digest_mismatch",
        `Cannot verify ${what}: unsupported digest algorithm "${alg}"`,
      );
    }
    return new Digester(alg);
  }

  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.bytes += chunk.byteLength;
  }

  digest(): Digest {
    return `${this.algorithm}:${this.#hash.digest("hex")}`;
  }
}

/**
 * A pass-through stream that hashes every chunk. `onEnd` runs at EOF with the digester; it may
 * throw to fail the stream (so a reader sees the error before it sees the end).
 */
export function hashingStream(
  digester: Digester,
  onEnd: (d: Digester) => void,
  onChunk?: (d: Digester) => void,
): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream({
    transform(chunk, controller) {
      digester.update(chunk);
      onChunk?.(digester);
      controller.enqueue(chunk);
    },
    flush() {
      onEnd(digester);
    },
  });
}
