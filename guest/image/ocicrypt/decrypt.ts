/**
 * {@linkcode decryptLayer}: turns an encrypted layer blob stream into its plaintext blob stream
 * (spec/guest.md §7): find a key wrapper that releases the private options (key providers first,
 * then JWE private keys), then stream AES-CTR with HMAC and digest checks at the end.
 */
import { ctrHmacDecryptStream } from "./cipher.ts";
import { OcicryptError } from "./errors.ts";
import { unwrapJwe } from "./jwe.ts";
import type { KeyUnwrapper } from "./keyprovider.ts";
import type { JwePrivateKey } from "./keys.ts";
import {
  ANNOTATION_JWE,
  ANNOTATION_PROVIDER_PREFIX,
  ANNOTATION_PUBOPTS,
  CIPHER,
  isEncryptedMediaType,
  type LayerDescriptor,
  parsePrivateOptions,
  parsePublicOptions,
  type PrivateOptions,
  splitB64List,
  UNSUPPORTED_WRAPPERS,
} from "./options.ts";

/** The keys a guest may use for layers: JWE private keys and named key providers. */
export interface LayerKeySource {
  privateKeys?: readonly JwePrivateKey[];
  /** By provider name, matched against `…enc.keys.provider.<name>` annotations. */
  keyProviders?: Readonly<Record<string, KeyUnwrapper>>;
}

async function viaProviders(
  annotations: Record<string, string>,
  providers: Readonly<Record<string, KeyUnwrapper>>,
  failures: string[],
): Promise<Uint8Array | undefined> {
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(ANNOTATION_PROVIDER_PREFIX)) continue;
    const name = key.slice(ANNOTATION_PROVIDER_PREFIX.length);
    const unwrap = providers[name];
    if (!unwrap) {
      failures.push(`key provider ${name}: not configured`);
      continue;
    }
    for (const packet of splitB64List(value, key)) {
      try {
        return await unwrap(packet);
      } catch (err) {
        failures.push(`key provider ${name}: ${(err as Error).message}`);
      }
    }
  }
  return undefined;
}

/** Unwraps the private options of `descriptor` with whatever `keys` holds. */
export async function unwrapPrivateOptions(
  descriptor: LayerDescriptor,
  keys: LayerKeySource,
): Promise<PrivateOptions> {
  const annotations = descriptor.annotations ?? {};
  const failures: string[] = [];
  let opts = await viaProviders(annotations, keys.keyProviders ?? {}, failures);
  const jwe = annotations[ANNOTATION_JWE];
  if (!opts && jwe !== undefined) {
    if (!keys.privateKeys?.length) failures.push("JWE recipients present but no private key given");
    else {
      for (const item of splitB64List(jwe, ANNOTATION_JWE)) {
        const r = await unwrapJwe(
          item,
          keys.privateKeys,
          `${ANNOTATION_JWE} of ${descriptor.digest}`,
        );
        if ("plaintext" in r) {
          opts = r.plaintext;
          break;
        }
        failures.push(...r.failures);
      }
    }
  }
  if (!opts) {
    const other = UNSUPPORTED_WRAPPERS.filter((a) => a in annotations);
    if (other.length) failures.push(`unsupported key wrappers: ${other.join(", ")}`);
    throw new OcicryptError(
      "no-key",
      `Cannot decrypt layer ${descriptor.digest}: no key could unwrap it` +
        (failures.length ? ` (${failures.join("; ")})` : " (no key annotations)"),
    );
  }
  return parsePrivateOptions(opts);
}

/**
 * Decrypts an encrypted layer blob as a stream.
 *
 * The returned stream yields plaintext as it goes and **errors at its end** with `bad-hmac` or
 * `bad-digest` when the ciphertext was tampered with, truncated or decrypted with the wrong key.
 * No plaintext is valid until the stream has closed normally: the caller must unpack into a
 * staging location and discard it when the stream errors (guest/image/unpack does).
 *
 * @throws {OcicryptError} before any byte is read when the descriptor is not encrypted, its
 *   annotations are malformed, the cipher is unsupported or no key unwraps the layer key.
 */
export async function decryptLayer(
  layer: ReadableStream<Uint8Array>,
  descriptor: LayerDescriptor,
  keys: LayerKeySource,
): Promise<ReadableStream<Uint8Array>> {
  let decrypt: TransformStream<Uint8Array, Uint8Array>;
  try {
    decrypt = await prepare(descriptor, keys);
  } catch (err) {
    await layer.cancel(err).catch(() => {}); // release the blob stream the caller handed over
    throw err;
  }
  return layer.pipeThrough(decrypt);
}

async function prepare(
  descriptor: LayerDescriptor,
  keys: LayerKeySource,
): Promise<TransformStream<Uint8Array, Uint8Array>> {
  if (!isEncryptedMediaType(descriptor.mediaType)) {
    throw new OcicryptError(
      "not-encrypted",
      `Cannot decrypt layer ${descriptor.digest}: media type ${descriptor.mediaType} is not encrypted`,
    );
  }
  const pubB64 = descriptor.annotations?.[ANNOTATION_PUBOPTS];
  if (pubB64 === undefined) {
    throw new OcicryptError(
      "bad-annotation",
      `Cannot decrypt layer ${descriptor.digest}: ${ANNOTATION_PUBOPTS} is missing (no HMAC to check)`,
    );
  }
  const pub = parsePublicOptions(splitB64List(pubB64, ANNOTATION_PUBOPTS)[0] ?? new Uint8Array());
  if (pub.cipher !== CIPHER) {
    throw new OcicryptError(
      "unsupported-cipher",
      `Cannot decrypt layer ${descriptor.digest}: cipher ${pub.cipher} is not ${CIPHER}`,
    );
  }
  const priv = await unwrapPrivateOptions(descriptor, keys);
  const nonce = priv.cipherOptions["nonce"];
  if (!nonce || nonce.length !== 16) {
    throw new OcicryptError(
      "bad-annotation",
      `Cannot decrypt layer ${descriptor.digest}: private options carry no 16-byte nonce`,
    );
  }
  const pubNonce = pub.cipherOptions["nonce"];
  if (pubNonce && pubNonce.toHex() !== nonce.toHex()) {
    throw new OcicryptError(
      "bad-annotation",
      `Cannot decrypt layer ${descriptor.digest}: public nonce differs from the sealed one`,
    );
  }
  return ctrHmacDecryptStream(priv.symkey, nonce, {
    hmac: pub.hmac,
    digest: priv.digest,
    what: descriptor.digest,
  });
}
