/**
 * TPM 2.0 structures (TPMS_ATTEST, TPMT_SIGNATURE, TPM2B_PUBLIC) and a TPM command client.
 *
 * @module
 */
export {};
