/** Byte helpers shared across the project. */

/** Views `bytes` as backed by an `ArrayBuffer` (what WebCrypto's types want), copying only if shared. */
export function ab(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
}

/** Concatenates byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time equality of two byte arrays. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/**
 * Zero-pads on the right or truncates `data` to `len` bytes (Trustee's `regularize_data`): how
 * report data and init-data digests are laid into fixed-size hardware fields.
 */
export function regularize(data: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(len);
  out.set(data.subarray(0, len));
  return out;
}
