/**
 * Wires the signature policy (guest/image/signature) and layer decryption (guest/image/ocicrypt)
 * into the pull pipeline's hooks: from files named on the command line, or (for the CDH) from an
 * already-parsed policy whose keys are `kbs:///` resources.
 *
 * @module
 */
import { decryptLayer, type LayerKeySource, loadLayerKeys } from "./ocicrypt/mod.ts";
import {
  checkImagePolicy,
  loadRegistriesDDir,
  parsePolicy,
  type Policy,
  type RegistriesD,
  type ResourceLoader,
  resourceLoader,
} from "./signature/mod.ts";
import { ImageError } from "./errors.ts";
import type { Decryptor, SignatureCheck } from "./layer/hooks.ts";

/** A decryptor using the JWE private keys / key providers in `specs` (`file[:pass]`, `provider:…`). */
export async function decryptorFromKeys(specs: readonly string[]): Promise<Decryptor | undefined> {
  if (specs.length === 0) return undefined;
  return decryptorFor(await loadLayerKeys(specs));
}

/** A decryptor using an already-built key source (e.g. the CDH's in-process key provider). */
export function decryptorFor(keys: LayerKeySource): Decryptor {
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
  return signatureCheck(parsePolicy(policyBytes), {
    ...(registriesD ? { registriesD: await loadRegistriesDDir(registriesD) } : {}),
    loadResource: resourceLoader(),
  });
}

/**
 * A signature check enforcing an already-parsed `policy`: keys named by `keyPath` come through
 * `loadResource` (files, or `kbs:///` resources through the CDH), lookaside stores from
 * `registriesD`.
 */
export function signatureCheck(
  policy: Policy,
  o: { registriesD?: RegistriesD; loadResource: ResourceLoader },
): SignatureCheck {
  return async (s) => {
    await checkImagePolicy(
      {
        reference: s.reference,
        manifestDigest: s.manifestDigest,
        ...(s.indexDigest ? { indexDigest: s.indexDigest } : {}),
      },
      {
        policy,
        loadResource: o.loadResource,
        registry: s.registry,
        ...(o.registriesD ? { registriesD: o.registriesD } : {}),
      },
    );
  };
}
