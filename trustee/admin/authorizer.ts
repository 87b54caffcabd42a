/**
 * Admin API authorization as upstream KBS does it: `InsecureAllowAll`, `DenyAll`, or bearer JWT
 * authentication against trusted identity providers followed by a regex ACL on the request URI.
 *
 * @module
 */
import { errorMessage } from "@coco/lib/errors";
import { KbsError } from "@coco/lib/kbs";
import { type Logger, nullLogger } from "@coco/lib/log";
import { verifyJwt } from "./_jwt.ts";
import {
  type KeySourceDeps,
  loadJwks,
  parsePemPublicKey,
  readUri,
  type TrustedKey,
} from "./_keys.ts";
import type { AdminConfig, AdminMode, IdentityProvider } from "./config.ts";

/** The parts of an admin HTTP request the authorizer looks at. */
export interface AdminRequest {
  /** Request path, e.g. `/kbs/v0/resource-policy`. */
  path: string;
  /** Query string without the leading `?` (a leading `?` is tolerated). */
  query?: string | null | undefined;
  /** Value of the `Authorization` header, if any. */
  authorization?: string | null | undefined;
  /** Endpoint name used in error messages; defaults to the first path segment after `/kbs/v0/`. */
  endpoint?: string | undefined;
}

/** The outcome of a successful {@linkcode AdminAuthorizer.authorize}. */
export interface AdminGrant {
  mode: AdminMode;
  /** The token's `role` claim (only in `AuthenticatedAuthorization` mode). */
  role?: string;
}

/** Decides whether an admin request may proceed. */
export interface AdminAuthorizer {
  readonly mode: AdminMode;
  /** Resolves when allowed; rejects with {@linkcode KbsError} `AdminAuthAccess` otherwise. */
  authorize(request: AdminRequest): Promise<AdminGrant>;
}

/** Effects of {@linkcode createAdminAuthorizer}; all optional. */
export interface AdminAuthorizerDeps {
  /** Current time in milliseconds since the epoch (default `Date.now`). */
  now?: () => number;
  logger?: Logger;
  /** Reads a local key file (default `Deno.readTextFile`). */
  readTextFile?: (path: string) => Promise<string>;
  /** Fetches an `https://` key source (default global `fetch`). */
  fetch?: (url: string) => Promise<Response>;
}

interface TrustedIssuer {
  index: number;
  provider: IdentityProvider;
  keys: TrustedKey[];
}

/** Endpoint name for messages: `/kbs/v0/resource/a/b/c` → `resource`. */
export function endpointOf(path: string): string {
  const rest = path.startsWith("/kbs/v0/") ? path.slice("/kbs/v0/".length) : path;
  return rest.split("/")[0] || path;
}

function denied(request: AdminRequest, detail: string): KbsError {
  const endpoint = request.endpoint ?? endpointOf(request.path);
  return new KbsError("AdminAuthAccess", `admin access denied for endpoint ${endpoint}: ${detail}`);
}

/** Extracts the token of `Authorization: Bearer <token>`; throws the reason otherwise. */
export function parseBearer(header: string | null | undefined): string {
  if (header === undefined || header === null || header.trim() === "") {
    throw new Error("no Authorization header");
  }
  const match = /^Bearer[ ]+([^\s]+)[ ]*$/i.exec(header.trim());
  if (!match) throw new Error('expected "Authorization: Bearer <token>"');
  return match[1]!;
}

async function loadIssuer(
  provider: IdentityProvider,
  index: number,
  deps: KeySourceDeps,
  logger: Logger,
): Promise<TrustedIssuer> {
  const keys: TrustedKey[] = [];
  const key = `admin.authentication.bearer_jwt.identity_providers[${index}]`;
  const fail = (field: string, uri: string, err: unknown): never => {
    throw new KbsError(
      "AdminAuthInitialization",
      `failed to initialize [admin] configuration: Cannot load ${key}.${field} ${
        JSON.stringify(uri)
      }: ${errorMessage(err)}`,
      { cause: err },
    );
  };
  if (provider.publicKeyUri !== undefined) {
    const uri = provider.publicKeyUri;
    try {
      keys.push(await parsePemPublicKey(await readUri(uri, deps), uri));
    } catch (err) {
      fail("public_key_uri", uri, err);
    }
  }
  if (provider.jwkSetUri !== undefined) {
    const uri = provider.jwkSetUri;
    try {
      keys.push(...await loadJwks(uri, deps, (msg) => logger.warn(msg, { provider: index })));
    } catch (err) {
      fail("jwk_set_uri", uri, err);
    }
  }
  return { index, provider, keys };
}

/**
 * Creates the admin authorizer for `config`, loading every identity provider's keys now (a
 * missing or invalid key fails start-up with `AdminAuthInitialization`).
 *
 * @example
 * ```ts
 * const admin = await createAdminAuthorizer(parseAdminConfig(toml.admin, "kbs.toml"));
 * await admin.authorize({ path: "/kbs/v0/resource-policy", authorization: req.header("authorization") });
 * ```
 */
export async function createAdminAuthorizer(
  config: AdminConfig,
  deps: AdminAuthorizerDeps = {},
): Promise<AdminAuthorizer> {
  const logger = deps.logger ?? nullLogger;
  switch (config.mode) {
    case "InsecureAllowAll":
      logger.warn("The InsecureAllowAll admin mode is in use: admin endpoints are open to anyone");
      return { mode: config.mode, authorize: () => Promise.resolve({ mode: config.mode }) };
    case "DenyAll":
      return {
        mode: config.mode,
        authorize: (request) =>
          Promise.reject(
            denied(request, "Admin access denied: DenyAll authorization_mode is enabled"),
          ),
      };
    case "AuthenticatedAuthorization":
      return await createJwtAuthorizer(config, deps, logger);
  }
}

async function createJwtAuthorizer(
  config: Extract<AdminConfig, { mode: "AuthenticatedAuthorization" }>,
  deps: AdminAuthorizerDeps,
  logger: Logger,
): Promise<AdminAuthorizer> {
  const keyDeps: KeySourceDeps = {
    readTextFile: deps.readTextFile ?? Deno.readTextFile,
    fetch: deps.fetch ?? ((url) => fetch(url)),
  };
  const issuers = await Promise.all(
    config.providers.map((p, i) => loadIssuer(p, i, keyDeps, logger)),
  );
  const acls = config.acls.map((a) => ({
    role: a.role,
    regex: new RegExp(a.allowedEndpoints, "u"),
  }));
  const now = deps.now ?? Date.now;
  return {
    mode: config.mode,
    async authorize(request) {
      const role = await authenticate(request, issuers, now(), logger);
      const query = request.query?.replace(/^\?/, "");
      const uri = query ? `${request.path}?${query}` : request.path;
      if (!acls.some((acl) => acl.role === role && acl.regex.test(uri))) {
        throw denied(request, `Admin access denied: Role ${role} not allowed for path ${uri}`);
      }
      return { mode: config.mode, role };
    },
  };
}

/** Finds the first issuer that verifies the bearer token and returns its `role` claim. */
async function authenticate(
  request: AdminRequest,
  issuers: readonly TrustedIssuer[],
  nowMs: number,
  logger: Logger,
): Promise<string> {
  let token: string;
  try {
    token = parseBearer(request.authorization);
  } catch (err) {
    throw denied(request, `Failed to parse HTTP Auth Bearer header: ${errorMessage(err)}`);
  }
  for (const { index, provider, keys } of issuers) {
    let claims: Record<string, unknown>;
    try {
      claims = await verifyJwt(token, keys, nowMs);
    } catch (err) {
      logger.debug("Admin token not verified by identity provider", {
        provider: index,
        reason: errorMessage(err),
      });
      continue;
    }
    const role = claims["role"];
    if (typeof role !== "string") {
      throw denied(
        request,
        "Admin access denied: Failed to parse claims from token: missing required `role` claim in JWT",
      );
    }
    if (provider.issuer !== undefined && claims["iss"] !== provider.issuer) {
      logger.warn("Admin token verified but its issuer differs; trying the next provider", {
        provider: index,
        expected: provider.issuer,
        got: claims["iss"],
      });
      continue;
    }
    const aud = claims["aud"];
    const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
    if (provider.audience !== undefined && !audiences.includes(provider.audience)) {
      logger.warn("Admin token verified but its audience differs; trying the next provider", {
        provider: index,
        expected: provider.audience,
        got: aud,
      });
      continue;
    }
    return role;
  }
  throw denied(request, "Admin access denied: Cannot verify token with any of the issuers");
}
