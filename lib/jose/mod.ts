/**
 * JOSE helpers: the guest's TEE key pair and the KBS resource JWE.
 *
 * @module
 */
export * from "./jwe.ts";
export * from "./tee_key.ts";
export {
  cryptoBackend,
  libcrypto,
  LibcryptoError,
  type NativeKey,
  type NativePublicKey,
} from "./_libcrypto.ts";
export { type Es256VerifyOptions, JwtVerifyError, verifyEs256Jwt } from "./jwt_es256.ts";
