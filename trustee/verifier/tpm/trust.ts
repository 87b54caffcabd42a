/** The set of trusted attestation keys of the `tpm` verifier (PEM SPKI in, DER compared). */
import { VerifierError } from "../types.ts";

/** Decodes one PEM `PUBLIC KEY` block (or bare base64 DER) to DER bytes. */
export function pemToDer(pem: string, index: number): Uint8Array {
  const body = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  try {
    const der = Uint8Array.fromBase64(body);
    if (der.length < 32 || der[0] !== 0x30) throw new Error("not DER");
    return der;
  } catch (err) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot configure the tpm verifier: trusted AK key #${index + 1} is not a PEM public key`,
      { cause: err },
    );
  }
}

/** Trusted AK keys, compared by their exact DER SubjectPublicKeyInfo. */
export class TrustedAkKeys {
  readonly #keys: Set<string>;
  constructor(pems: readonly string[]) {
    this.#keys = new Set(pems.map((p, i) => pemToDer(p, i).toHex()));
  }
  get size(): number {
    return this.#keys.size;
  }
  has(spki: Uint8Array): boolean {
    return this.#keys.has(spki.toHex());
  }
}

/** Upstream's default directory of trusted AK public keys (`*.pub`, PEM). */
export const DEFAULT_TRUSTED_AK_KEYS_DIR = "/etc/tpm/trusted_ak_keys";

/**
 * Reads the PEM texts of the `*.pub` files in `trusted_ak_keys_dir` (sorted by name, at most
 * `max_trusted_ak_keys`). A missing directory means no trusted key (the trustee still starts,
 * as upstream, where only the TPM verifier fails); an unreadable directory or a file that is not
 * a PEM public key is a start-up error.
 */
export async function loadTrustedAkKeys(
  config?: { trusted_ak_keys_dir: string; max_trusted_ak_keys: number },
): Promise<string[]> {
  const dir = config?.trusted_ak_keys_dir ?? DEFAULT_TRUSTED_AK_KEYS_DIR;
  const max = config?.max_trusted_ak_keys ?? 100;
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".pub")) names.push(e.name);
    }
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw new VerifierError(
      "bad-evidence",
      `Cannot configure the tpm verifier: cannot read trusted_ak_keys_dir ${dir}: ${err}`,
      { cause: err },
    );
  }
  names.sort();
  const pems = await Promise.all(
    names.slice(0, max).map((n) => Deno.readTextFile(`${dir}/${n}`)),
  );
  pems.forEach((p, i) => {
    try {
      pemToDer(p, i);
    } catch (err) {
      throw new VerifierError(
        "bad-evidence",
        `Cannot configure the tpm verifier: ${dir}/${names[i]} is not a PEM public key`,
        { cause: err },
      );
    }
  });
  return pems;
}
