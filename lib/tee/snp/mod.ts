/**
 * AMD SEV-SNP attestation report layout: parse and encode (shared by the guest attester and the trustee verifier).
 *
 * @module
 */
export {};
