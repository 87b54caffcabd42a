/**
 * {@linkcode encryptLayer}: the producer side, byte-compatible with `skopeo copy --encryption-key`
 * (so tests and benches need no skopeo, and skopeo can decrypt what we make). The new descriptor
 * (digest, size, annotations) is only known once the output stream was read to its end, because
 * the HMAC and the plaintext digest go into the annotations — as in Go's ocicrypt finalizer.
 */
import { ctrHmacEncryptStream } from "./cipher.ts";
import { type JweRecipient, wrapJwe } from "./jwe.ts";
import {
  ANNOTATION_JWE,
  ANNOTATION_PROVIDER_PREFIX,
  ANNOTATION_PUBOPTS,
  CIPHER,
  encodePrivateOptions,
  encodePublicOptions,
  encryptedMediaType,
  type LayerDescriptor,
} from "./options.ts";

/** A key provider's wrap function (e.g. `wrapAnnotationPacket` bound to a KEK and kid). */
export interface ProviderRecipient {
  name: string;
  wrap(privateOptions: Uint8Array): Promise<Uint8Array>;
}

/** Who can decrypt the layer. */
export interface EncryptRecipients {
  jwe?: readonly JweRecipient[];
  providers?: readonly ProviderRecipient[];
}

/** The ciphertext stream and the descriptor it will have. */
export interface EncryptedLayer {
  stream: ReadableStream<Uint8Array>;
  /** Settles after `stream` was read to its end. */
  descriptor: Promise<LayerDescriptor>;
}

/** Encrypts a plaintext layer blob for `recipients`. */
export function encryptLayer(
  plain: ReadableStream<Uint8Array>,
  descriptor: LayerDescriptor,
  recipients: EncryptRecipients,
): EncryptedLayer {
  const mediaType = encryptedMediaType(descriptor.mediaType);
  const symkey = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(16));
  const { stream, result } = ctrHmacEncryptStream(symkey, nonce);
  const out = plain.pipeThrough(stream);
  const finished = result.then(async (r) => {
    const priv = encodePrivateOptions({
      symkey,
      digest: r.plainDigest,
      cipherOptions: { nonce },
    });
    const annotations: Record<string, string> = { ...descriptor.annotations };
    if (recipients.jwe?.length) {
      annotations[ANNOTATION_JWE] = (await wrapJwe(priv, recipients.jwe)).toBase64();
    }
    for (const p of recipients.providers ?? []) {
      annotations[ANNOTATION_PROVIDER_PREFIX + p.name] = (await p.wrap(priv)).toBase64();
    }
    annotations[ANNOTATION_PUBOPTS] = encodePublicOptions({
      cipher: CIPHER,
      hmac: r.hmac,
      cipherOptions: {},
    }).toBase64();
    return { mediaType, digest: r.digest, size: r.size, annotations };
  });
  finished.catch(() => {});
  return { stream: out, descriptor: finished };
}
