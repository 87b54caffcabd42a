import assert from "node:assert/strict";
import { parse as parseToml } from "smol-toml";
import { KbsError } from "@coco/lib/kbs";
import { type AdminConfig, parseAdminConfig } from "./config.ts";

Deno.test("parseAdminConfig() reads example.toml when given the parsed file", async () => {
  const toml = parseToml(await Deno.readTextFile(new URL("./example.toml", import.meta.url)));
  assert.deepEqual(
    parseAdminConfig(toml["admin"], "example.toml"),
    {
      mode: "AuthenticatedAuthorization",
      providers: [
        { issuer: "TrusteeInDocker", audience: "KBS", publicKeyUri: "/keys/public.pub" },
        { jwkSetUri: "https://idp.example.com/realms/kbs" },
      ],
      acls: [
        { role: "admin", allowedEndpoints: "^/kbs/.+$" },
        { role: "resource-writer", allowedEndpoints: "^/kbs/v0/resource/default/.+$" },
      ],
    } satisfies AdminConfig,
  );
});

const OK: Array<[string, unknown, AdminConfig]> = [
  ["the table is empty", {}, { mode: "InsecureAllowAll" }],
  ["the mode is InsecureAllowAll", { authorization_mode: "InsecureAllowAll" }, {
    mode: "InsecureAllowAll",
  }],
  ["the mode is DenyAll", { authorization_mode: "DenyAll" }, { mode: "DenyAll" }],
  ["acls are omitted and a JWK set is given", {
    authorization_mode: "AuthenticatedAuthorization",
    authentication: { bearer_jwt: { identity_providers: [{ jwk_set_uri: "https://idp/jwks" }] } },
    authorization: { regex_acl: {} },
  }, {
    mode: "AuthenticatedAuthorization",
    providers: [{ jwkSetUri: "https://idp/jwks" }],
    acls: [],
  }],
];

for (const [when, raw, expected] of OK) {
  Deno.test(`parseAdminConfig() returns the mode when ${when}`, () => {
    assert.deepEqual(parseAdminConfig(raw, "kbs.toml"), expected);
  });
}

const provider = { public_key_uri: "/k.pub" };
const auth = (providers: unknown[], acls: unknown[] = []) => ({
  authorization_mode: "AuthenticatedAuthorization",
  authentication: { bearer_jwt: { identity_providers: providers } },
  authorization: { regex_acl: { acls } },
});

const BAD: Array<[string, unknown, string]> = [
  ["the section is missing", undefined, "admin: the [admin] section is required"],
  ["the section is not a table", "DenyAll", "admin: expected a table"],
  [
    "the docs' `type` key is used",
    { type: "DenyAll" },
    "admin.type: unknown field (expected one of authorization_mode, authentication, authorization)",
  ],
  [
    "the mode is unknown",
    { authorization_mode: "Simple" },
    'admin.authorization_mode: unknown mode "Simple" (expected one of InsecureAllowAll, DenyAll, AuthenticatedAuthorization)',
  ],
  [
    "DenyAll carries authentication",
    { authorization_mode: "DenyAll", authentication: {} },
    "admin.authentication: unknown field (expected one of authorization_mode)",
  ],
  ["authentication is missing", {
    authorization_mode: "AuthenticatedAuthorization",
    authorization: { regex_acl: {} },
  }, "admin.authentication: missing table"],
  [
    "bearer_jwt is missing",
    { ...auth([provider]), authentication: {} },
    "admin.authentication.bearer_jwt: missing table",
  ],
  [
    "there is no identity provider",
    auth([]),
    "admin.authentication.bearer_jwt.identity_providers: at least one identity provider is required",
  ],
  [
    "a provider has no key source",
    auth([{ issuer: "x" }]),
    "admin.authentication.bearer_jwt.identity_providers[0]: set public_key_uri or jwk_set_uri (a provider needs at least one key source)",
  ],
  [
    "a provider has an unknown field",
    auth([{ ...provider, issuers: "x" }]),
    "admin.authentication.bearer_jwt.identity_providers[0].issuers: unknown field (expected one of issuer, audience, public_key_uri, jwk_set_uri)",
  ],
  [
    "a provider field is not a string",
    auth([{ public_key_uri: 1 }]),
    "admin.authentication.bearer_jwt.identity_providers[0].public_key_uri: expected a non-empty string",
  ],
  [
    "a regex does not start with ^/kbs",
    auth([provider], [{ role: "admin", allowed_endpoints: "/kbs/.+$" }]),
    'admin.authorization.regex_acl.acls[0].allowed_endpoints: regex "/kbs/.+$" must start with "^/kbs" and end with "$"',
  ],
  [
    "a regex does not end with $",
    auth([provider], [{ role: "admin", allowed_endpoints: "^/kbs/.+" }]),
    'admin.authorization.regex_acl.acls[0].allowed_endpoints: regex "^/kbs/.+" must start with "^/kbs" and end with "$"',
  ],
  [
    "a regex does not compile",
    auth([provider], [{ role: "admin", allowed_endpoints: "^/kbs/(.+$" }]),
    "admin.authorization.regex_acl.acls[0].allowed_endpoints: invalid regex: Invalid regular expression: /^/kbs/(.+$/u: Unterminated group",
  ],
  [
    "an ACL has no role",
    auth([provider], [{ allowed_endpoints: "^/kbs/.+$" }]),
    "admin.authorization.regex_acl.acls[0].role: missing string",
  ],
  [
    "an ACL uses the old audience field",
    auth([provider], [{ audience: "a", role: "admin", allowed_endpoints: "^/kbs$" }]),
    "admin.authorization.regex_acl.acls[0].audience: unknown field (expected one of role, allowed_endpoints)",
  ],
];

for (const [when, raw, detail] of BAD) {
  Deno.test(`parseAdminConfig() throws AdminAuthInitialization naming the key when ${when}`, () => {
    assert.throws(() => parseAdminConfig(raw, "/etc/kbs.toml"), (err: unknown) => {
      assert.ok(err instanceof KbsError);
      assert.equal(err.code, "AdminAuthInitialization");
      assert.equal(
        err.message,
        `failed to initialize [admin] configuration: /etc/kbs.toml: ${detail}`,
      );
      return true;
    });
  });
}
