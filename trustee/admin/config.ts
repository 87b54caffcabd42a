/**
 * Parser of the upstream `[admin]` table: `authorization_mode` (internally tagged, unknown
 * fields rejected), `[admin.authentication.bearer_jwt]` and `[admin.authorization.regex_acl]`.
 *
 * @module
 */
import { KbsError } from "@coco/lib/kbs";

/** One trusted token issuer (`identity_providers` entry); at least one key source is set. */
export interface IdentityProvider {
  /** Expected `iss`; on mismatch the next provider is tried. */
  issuer?: string;
  /** Expected member of `aud` (string or array); on mismatch the next provider is tried. */
  audience?: string;
  /** PEM SPKI public key: local path, `file://` or `https://`. */
  publicKeyUri?: string;
  /** JWK set (or OpenID issuer) URI: local path, `file://` or `https://`. */
  jwkSetUri?: string;
}

/** One `regex_acl` rule: tokens with `role` may call URIs matching `allowedEndpoints`. */
export interface Acl {
  role: string;
  /** Regular expression source, anchored: starts with `^/kbs` and ends with `$`. */
  allowedEndpoints: string;
}

/** The resolved `[admin]` configuration, discriminated by `mode`. */
export type AdminConfig =
  | { mode: "InsecureAllowAll" }
  | { mode: "DenyAll" }
  | { mode: "AuthenticatedAuthorization"; providers: IdentityProvider[]; acls: Acl[] };

/** The `authorization_mode` values. */
export type AdminMode = AdminConfig["mode"];

type Table = Record<string, unknown>;

class Reader {
  constructor(readonly file: string) {}

  fail(key: string, why: string): never {
    throw new KbsError(
      "AdminAuthInitialization",
      `failed to initialize [admin] configuration: ${this.file}: ${key}: ${why}`,
    );
  }

  table(value: unknown, key: string, allowed: readonly string[]): Table {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.fail(key, value === undefined ? "missing table" : "expected a table");
    }
    const table = value as Table;
    for (const name of Object.keys(table)) {
      if (!allowed.includes(name)) {
        const expected = allowed.length
          ? `expected one of ${allowed.join(", ")}`
          : "no fields allowed";
        this.fail(`${key}.${name}`, `unknown field (${expected})`);
      }
    }
    return table;
  }

  array(value: unknown, key: string): unknown[] {
    if (!Array.isArray(value)) {
      this.fail(key, value === undefined ? "missing array" : "expected an array");
    }
    return value;
  }

  optString(table: Table, key: string, name: string): string | undefined {
    const value = table[name];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value === "") {
      this.fail(`${key}.${name}`, "expected a non-empty string");
    }
    return value;
  }
}

const MODE_FIELDS = ["authorization_mode", "authentication", "authorization"] as const;

/**
 * Parses the `[admin]` table (already decoded by the caller; `undefined` when the section is
 * missing, which upstream rejects). An empty table means `InsecureAllowAll`, upstream's default.
 * Throws a {@linkcode KbsError} `AdminAuthInitialization` naming `file` and the key.
 */
export function parseAdminConfig(raw: unknown, file: string): AdminConfig {
  const r: Reader = new Reader(file);
  if (raw === undefined) r.fail("admin", "the [admin] section is required");
  const admin = r.table(raw, "admin", MODE_FIELDS);
  const mode = admin["authorization_mode"] ?? "InsecureAllowAll";
  if (mode === "InsecureAllowAll" || mode === "DenyAll") {
    r.table(admin, "admin", ["authorization_mode"]);
    return { mode };
  }
  if (mode !== "AuthenticatedAuthorization") {
    r.fail(
      "admin.authorization_mode",
      `unknown mode ${
        JSON.stringify(mode)
      } (expected one of InsecureAllowAll, DenyAll, AuthenticatedAuthorization)`,
    );
  }
  const authn = r.table(admin["authentication"], "admin.authentication", ["bearer_jwt"]);
  const authz = r.table(admin["authorization"], "admin.authorization", ["regex_acl"]);
  return {
    mode,
    providers: parseProviders(r, authn["bearer_jwt"]),
    acls: parseAcls(r, authz["regex_acl"]),
  };
}

function parseProviders(r: Reader, raw: unknown): IdentityProvider[] {
  const base = "admin.authentication.bearer_jwt";
  const bearer = r.table(raw, base, ["identity_providers"]);
  const list = r.array(bearer["identity_providers"], `${base}.identity_providers`);
  if (list.length === 0) {
    r.fail(`${base}.identity_providers`, "at least one identity provider is required");
  }
  return list.map((entry, i) => {
    const key = `${base}.identity_providers[${i}]`;
    const t = r.table(entry, key, ["issuer", "audience", "public_key_uri", "jwk_set_uri"]);
    const provider: IdentityProvider = {};
    const issuer = r.optString(t, key, "issuer");
    const audience = r.optString(t, key, "audience");
    const publicKeyUri = r.optString(t, key, "public_key_uri");
    const jwkSetUri = r.optString(t, key, "jwk_set_uri");
    if (issuer !== undefined) provider.issuer = issuer;
    if (audience !== undefined) provider.audience = audience;
    if (publicKeyUri !== undefined) provider.publicKeyUri = publicKeyUri;
    if (jwkSetUri !== undefined) provider.jwkSetUri = jwkSetUri;
    if (publicKeyUri === undefined && jwkSetUri === undefined) {
      r.fail(key, "set public_key_uri or jwk_set_uri (a provider needs at least one key source)");
    }
    return provider;
  });
}

function parseAcls(r: Reader, raw: unknown): Acl[] {
  const base = "admin.authorization.regex_acl";
  const table = r.table(raw, base, ["acls"]);
  const list = table["acls"] === undefined ? [] : r.array(table["acls"], `${base}.acls`);
  return list.map((entry, i) => {
    const key = `${base}.acls[${i}]`;
    const t = r.table(entry, key, ["role", "allowed_endpoints"]);
    const role = r.optString(t, key, "role") ?? r.fail(`${key}.role`, "missing string");
    const allowedEndpoints = r.optString(t, key, "allowed_endpoints") ??
      r.fail(`${key}.allowed_endpoints`, "missing string");
    if (!allowedEndpoints.startsWith("^/kbs") || !allowedEndpoints.endsWith("$")) {
      r.fail(
        `${key}.allowed_endpoints`,
        `regex ${JSON.stringify(allowedEndpoints)} must start with "^/kbs" and end with "$"`,
      );
    }
    try {
      new RegExp(allowedEndpoints, "u");
    } catch (err) {
      r.fail(
        `${key}.allowed_endpoints`,
        `invalid regex: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return { role, allowedEndpoints };
  });
}
