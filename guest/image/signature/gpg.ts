/**
 * GPG "simple signing" verification with npm:openpgp (spec/guest.md §6.3): a signature is a
 * binary (or armored) OpenPGP signed message — usually a compressed packet holding a one-pass
 * signature, the literal payload and the signature. It verifies when openpgp.js accepts it with
 * one of the keyring's keys; only then is the payload read.
 */
import * as openpgp from "openpgp";
import { SignatureError } from "./errors.ts";

/** Largest signature accepted (containers/image uses the same 4 MiB cap). */
export const MAX_SIGNATURE_BYTES = 4 << 20;

/** A parsed keyring (one or more public keys). */
export type GpgKeyring = openpgp.PublicKey[];

/** Parses a keyring, binary or ASCII-armored; `source` names it in errors. */
export async function parseGpgKeyring(bytes: Uint8Array, source: string): Promise<GpgKeyring> {
  const text = new TextDecoder().decode(bytes.subarray(0, 64));
  try {
    const keys = text.includes("-----BEGIN PGP")
      ? await openpgp.readKeys({ armoredKeys: new TextDecoder().decode(bytes) })
      : await openpgp.readKeys({ binaryKeys: bytes });
    return keys.map((k) => k.toPublic());
  } catch (err) {
    throw new SignatureError(
      "invalid-key",
      `Cannot parse GPG keyring ${source}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

const config = { maxDecompressedMessageSize: 1 << 20 };

/**
 * Verifies a simple-signing signature against `keyring`; returns the signed payload bytes.
 * Throws `invalid-signature` when it is malformed or no key verifies it.
 */
export async function verifyGpgSignature(
  signature: Uint8Array,
  keyring: GpgKeyring,
): Promise<Uint8Array> {
  if (signature.length > MAX_SIGNATURE_BYTES) {
    throw new SignatureError("invalid-signature", "Invalid GPG signature: larger than 4 MiB");
  }
  let message: openpgp.Message<Uint8Array>;
  try {
    const head = new TextDecoder().decode(signature.subarray(0, 40));
    message = head.includes("-----BEGIN PGP")
      ? await openpgp.readMessage({ armoredMessage: new TextDecoder().decode(signature), config })
      : await openpgp.readMessage({ binaryMessage: signature, config });
  } catch (err) {
    throw new SignatureError(
      "invalid-signature",
      `Invalid GPG signature: not an OpenPGP message: ${(err as Error).message}`,
      { cause: err },
    );
  }
  try {
    const result = await openpgp.verify({
      message,
      verificationKeys: keyring,
      format: "binary",
      expectSigned: true,
      config,
    });
    return result.data;
  } catch (err) {
    throw new SignatureError(
      "invalid-signature",
      `Invalid GPG signature: ${(err as Error).message}`,
      { cause: err },
    );
  }
}
