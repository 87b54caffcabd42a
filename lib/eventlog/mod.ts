/**
 * TCG2 crypto-agile event logs (CCEL), RTMR/PCR replay, and the AA event log (AAEL).
 *
 * @module
 */
export {};
