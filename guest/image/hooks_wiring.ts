/**
 * Wires the signature policy (guest/image/signature) and layer decryption (guest/image/ocicrypt)
 * into the pull pipeline's hooks, from files named on the command line.
 *
 * @module
 */
import { decryptLayer, loadLayerKeys } from "./ocicrypt/mod.ts";
import {
  checkImagePolicy,
  loadRegistriesDDir,
  parsePolicy,
  resourceLoader,
} from "./signature/mod.ts";
import { ImageError } from "./errors.ts";
import type { Decryptor, SignatureCheck } from "./layer/hooks.ts";

/** A decryptor using the JWE private keys / key providers in `specs` (`file[:pass]`, `provider:…`). */
export async function decryptorFromKeys(specs: readonly string[]): Promise<Decryptor | undefined> {
  if (specs.length === 0) return undefined;
  const keys = await loadLayerKeys(specs);
  return (layer, descriptor) => decryptLayer(layer, descriptor, keys);
}

/** A signature check enforcing the policy.json at `policyPath` (lookaside config from `registriesD`). */
export async function signatureCheckFromPolicy(
  policyPath: string,
  registriesD?: string,
): Promise<SignatureCheck> {
  let policyBytes: Uint8Array;
  try {
    policyBytes = await Deno.readFile(policyPath);
  } catch (e) {
    throw new ImageError(
      "invalid_config_file",
      `Cannot read policy ${policyPath}: ${e instanceof Error ? e.message : e}`,
      { cause: e },
    );
  }
  const policy = parsePolicy(policyBytes);
  const lookaside = registriesD ? await loadRegistriesDDir(registriesD) : undefined;
  const loadResource = resourceLoader();
  return async (s) => {
    await checkImagePolicy(
      {
        reference: s.reference,
        manifestDigest: s.manifestDigest,
        ...(s.indexDigest ? { indexDigest: s.indexDigest } : {}),
      },
      {
        policy,
        loadResource,
        registry: s.registry,
        ...(lookaside ? { registriesD: lookaside } : {}),
      },
    );
  };
}
