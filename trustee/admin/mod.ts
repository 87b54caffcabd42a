/**
 * Admin API authorization, as upstream KBS: `[admin] authorization_mode` is `InsecureAllowAll`,
 * `DenyAll`, or `AuthenticatedAuthorization` (bearer JWT from trusted identity providers, then a
 * regex ACL on the request URI). Also mints admin key pairs and tokens.
 *
 * @example
 * ```ts
 * import { createAdminAuthorizer, parseAdminConfig } from "./mod.ts";
 *
 * const admin = await createAdminAuthorizer(parseAdminConfig(toml.admin, "kbs.toml"), { logger });
 * // in a handler: throws KbsError("AdminAuthAccess") when not allowed
 * await admin.authorize({ path: url.pathname, query: url.search, authorization: req.headers.get("authorization") });
 * ```
 *
 * @module
 */
export {
  type Acl,
  type AdminConfig,
  type AdminMode,
  type IdentityProvider,
  parseAdminConfig,
} from "./config.ts";
export {
  type AdminAuthorizer,
  type AdminAuthorizerDeps,
  type AdminGrant,
  type AdminRequest,
  createAdminAuthorizer,
  endpointOf,
  parseBearer,
} from "./authorizer.ts";
export { EXP_LEEWAY_SECONDS } from "./_jwt.ts";
export {
  type AdminKeyPair,
  generateAdminKeyPair,
  mintAdminToken,
  type MintAdminTokenOptions,
} from "./token.ts";
