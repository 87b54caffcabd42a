/** Key templates: the attestation key (restricted signing key) and the TCG default EK. */
import { TPM_ALG, TPM_ECC, TPMA_OBJECT } from "./constants.ts";
import type { TpmPublic } from "./public.ts";

const AK_ATTRIBUTES = TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent |
  TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.userWithAuth | TPMA_OBJECT.restricted |
  TPMA_OBJECT.sign;

/**
 * Attestation key template: a restricted signing key (it only signs TPM-generated structures
 * such as quotes), RSA-2048 RSASSA/SHA-256 (what upstream's attester uses) or ECC P-256
 * ECDSA/SHA-256.
 */
export function akTemplate(kind: "rsa" | "ecc" = "rsa"): TpmPublic {
  const base = {
    nameAlg: TPM_ALG.SHA256,
    attributes: AK_ATTRIBUTES,
    authPolicy: new Uint8Array(),
  };
  if (kind === "rsa") {
    return {
      ...base,
      type: "rsa",
      scheme: { alg: TPM_ALG.RSASSA, hash: TPM_ALG.SHA256 },
      keyBits: 2048,
      exponent: 0,
      modulus: new Uint8Array(),
    };
  }
  return {
    ...base,
    type: "ecc",
    scheme: { alg: TPM_ALG.ECDSA, hash: TPM_ALG.SHA256 },
    curve: TPM_ECC.NIST_P256,
    kdf: TPM_ALG.NULL,
    x: new Uint8Array(),
    y: new Uint8Array(),
  };
}

/** PolicySecret(TPM_RH_ENDORSEMENT) digest of the TCG EK credential profile templates. */
const EK_POLICY = Uint8Array.fromHex(
  "837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa",
);

/** TCG EK Credential Profile default RSA-2048 EK template (L-1); its cert is at NV 0x01c00002. */
export function ekRsaTemplate(): TpmPublic {
  return {
    type: "rsa",
    nameAlg: TPM_ALG.SHA256,
    attributes: TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent |
      TPMA_OBJECT.sensitiveDataOrigin | TPMA_OBJECT.adminWithPolicy | TPMA_OBJECT.restricted |
      TPMA_OBJECT.decrypt,
    authPolicy: EK_POLICY,
    symmetric: { alg: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB },
    scheme: { alg: TPM_ALG.NULL },
    keyBits: 2048,
    exponent: 0,
    modulus: new Uint8Array(256),
  };
}

/** NV index of the RSA EK certificate (TCG EK Credential Profile). */
export const EK_CERT_NV_INDEX_RSA = 0x01c00002;
