import assert from "node:assert/strict";
import { importPKCS8, SignJWT } from "jose";
import { KbsError } from "@coco/lib/kbs";
import { memoryLogger } from "@coco/lib/log";
import { fakeDeps, testKey } from "./_testing.ts";
import { createAdminAuthorizer } from "./authorizer.ts";
import type { AdminConfig, IdentityProvider } from "./config.ts";
import { mintAdminToken } from "./token.ts";

const NOW = Date.UTC(2025, 0, 1);
const POLICY = "/kbs/v0/resource-policy";
const ed = await testKey("EdDSA");
const ec = await testKey("ES256");
const GRANTED = { mode: "AuthenticatedAuthorization", role: "admin" };
const NOT_VERIFIED =
  "admin access denied for endpoint resource-policy: Admin access denied: Cannot verify token with any of the issuers";

function jwtConfig(providers: IdentityProvider[]): AdminConfig {
  return {
    mode: "AuthenticatedAuthorization",
    providers,
    acls: [{ role: "admin", allowedEndpoints: "^/kbs/.+$" }],
  };
}

const jwks = JSON.stringify({
  keys: [
    { ...ec.publicJwk, kid: "ec-1", alg: "ES256" },
    { ...ed.publicJwk, kid: "ed-1", alg: "EdDSA" },
  ],
});

async function initFails(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof KbsError);
    assert.equal(err.code, "AdminAuthInitialization");
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

Deno.test("authorize() selects the JWK by kid when the JWK set has several keys", async () => {
  const admin = await createAdminAuthorizer(
    jwtConfig([{ jwkSetUri: "/jwks.json" }]),
    fakeDeps({ "/jwks.json": jwks }, NOW),
  );
  for (const [key, kid] of [[ed, "ed-1"], [ec, "ec-1"]] as const) {
    const token = await mintAdminToken(key.privateKeyPem, { keyId: kid, ttlSeconds: 60 }, NOW);
    assert.deepEqual(
      await admin.authorize({ path: POLICY, authorization: `Bearer ${token}` }),
      GRANTED,
    );
  }
  const wrongKid = await mintAdminToken(ed.privateKeyPem, { keyId: "ec-1", ttlSeconds: 60 }, NOW);
  await assert.rejects(admin.authorize({ path: POLICY, authorization: `Bearer ${wrongKid}` }), {
    message: NOT_VERIFIED,
  });
});

Deno.test("authorize() rejects the token when its alg differs from the JWK alg", async () => {
  const rsa = await testKey("RS256");
  const set = JSON.stringify({ keys: [{ ...rsa.publicJwk, kid: "r", alg: "RS256" }] });
  const admin = await createAdminAuthorizer(
    jwtConfig([{ jwkSetUri: "/j" }]),
    fakeDeps({ "/j": set }, NOW),
  );
  const ps = await new SignJWT({ role: "admin", exp: NOW / 1000 + 60 }).setProtectedHeader({
    alg: "PS256",
    kid: "r",
  })
    .sign(await importPKCS8(rsa.privateKeyPem, "PS256"));
  await assert.rejects(admin.authorize({ path: POLICY, authorization: `Bearer ${ps}` }), {
    message: NOT_VERIFIED,
  });
});

Deno.test("createAdminAuthorizer() follows OpenID discovery when jwk_set_uri is an issuer URL", async () => {
  const deps = fakeDeps({
    "https://idp.example/.well-known/openid-configuration": JSON.stringify({
      jwks_uri: "https://idp.example/keys",
    }),
    "https://idp.example/keys": jwks,
  }, NOW);
  const admin = await createAdminAuthorizer(
    jwtConfig([{ jwkSetUri: "https://idp.example/" }]),
    deps,
  );
  assert.deepEqual(deps.fetched, [
    "https://idp.example/",
    "https://idp.example/.well-known/openid-configuration",
    "https://idp.example/keys",
  ]);
  const token = await mintAdminToken(ed.privateKeyPem, { keyId: "ed-1", ttlSeconds: 60 }, NOW);
  assert.deepEqual(
    await admin.authorize({ path: POLICY, authorization: `Bearer ${token}` }),
    GRANTED,
  );
});

Deno.test("createAdminAuthorizer() skips a JWK with a warning when it has no alg", async () => {
  const logger = memoryLogger();
  const set = JSON.stringify({
    keys: [{ ...ec.publicJwk, kid: "x" }, { ...ed.publicJwk, kid: "ed-1", alg: "EdDSA" }],
  });
  await createAdminAuthorizer(jwtConfig([{ jwkSetUri: "/j" }]), {
    ...fakeDeps({ "/j": set }, NOW),
    logger,
  });
  assert.deepEqual(logger.records.map((r) => r.msg), ['JWK #0 of /j has no "alg" member; skipped']);
});

Deno.test("createAdminAuthorizer() fails when the JWK set has no usable key", async () => {
  const set = JSON.stringify({ keys: [{ ...ec.publicJwk }] });
  await initFails(
    createAdminAuthorizer(jwtConfig([{ jwkSetUri: "/j" }]), fakeDeps({ "/j": set }, NOW)),
    'failed to initialize [admin] configuration: Cannot load admin.authentication.bearer_jwt.identity_providers[0].jwk_set_uri "/j": the JWK set holds no usable key (each key needs a supported alg)',
  );
});

Deno.test("createAdminAuthorizer() reads a PEM from disk when public_key_uri is a file:// URL", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/admin.pub`, ed.publicKeyPem);
    const admin = await createAdminAuthorizer(
      jwtConfig([{ publicKeyUri: `file://${dir}/admin.pub` }]),
      { now: () => NOW },
    );
    const token = await mintAdminToken(ed.privateKeyPem, { ttlSeconds: 60 }, NOW);
    assert.deepEqual(
      await admin.authorize({ path: POLICY, authorization: `Bearer ${token}` }),
      GRANTED,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("createAdminAuthorizer() fetches the PEM when public_key_uri is https", async () => {
  const deps = fakeDeps({ "https://keys.example/admin.pub": ed.publicKeyPem }, NOW);
  const admin = await createAdminAuthorizer(
    jwtConfig([{ publicKeyUri: "https://keys.example/admin.pub" }]),
    deps,
  );
  const token = await mintAdminToken(ed.privateKeyPem, { ttlSeconds: 60 }, NOW);
  assert.deepEqual(
    await admin.authorize({ path: POLICY, authorization: `Bearer ${token}` }),
    GRANTED,
  );
});

const KEY = "admin.authentication.bearer_jwt.identity_providers[0]";
const INIT_FAILURES: Array<[string, IdentityProvider, Record<string, string>, string | RegExp]> = [
  [
    "the PEM file is missing",
    { publicKeyUri: "/nope.pub" },
    {},
    `failed to initialize [admin] configuration: Cannot load ${KEY}.public_key_uri "/nope.pub": No such file: /nope.pub`,
  ],
  [
    "the PEM is not a public key",
    { publicKeyUri: "/k" },
    { "/k": "hello" },
    `failed to initialize [admin] configuration: Cannot load ${KEY}.public_key_uri "/k": not a PEM SPKI EC (P-256/P-384), RSA or Ed25519 public key`,
  ],
  [
    "the key source is plain http",
    { publicKeyUri: "http://x/k" },
    {},
    `failed to initialize [admin] configuration: Cannot load ${KEY}.public_key_uri "http://x/k": plain http:// key sources are not allowed; use https://`,
  ],
  [
    "the https source answers 404",
    { publicKeyUri: "https://x/k" },
    {},
    `failed to initialize [admin] configuration: Cannot load ${KEY}.public_key_uri "https://x/k": GET https://x/k returned HTTP 404`,
  ],
  [
    "the JWK set is not JSON and has no discovery",
    { jwkSetUri: "/j" },
    { "/j": "<html>" },
    /jwk_set_uri "\/j": not a JWK set; OpenID discovery at \/j\/.well-known\/openid-configuration failed: No such file/,
  ],
];

for (const [when, provider, files, message] of INIT_FAILURES) {
  Deno.test(`createAdminAuthorizer() fails with AdminAuthInitialization when ${when}`, async () => {
    await initFails(createAdminAuthorizer(jwtConfig([provider]), fakeDeps(files, NOW)), message);
  });
}
