/**
 * Intel TDX quote layout (v4/v5, TD 1.0/1.5 bodies, signature data): parse (shared by attester and verifier).
 *
 * @module
 */
export {};
