/**
 * JOSE helpers: the guest's TEE key pair and the KBS resource JWE.
 *
 * @module
 */
export * from "./jwe.ts";
export * from "./tee_key.ts";
export { cryptoBackend, libcrypto, LibcryptoError, type NativeKey } from "./_libcrypto.ts";
