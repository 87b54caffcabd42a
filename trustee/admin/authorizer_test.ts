import assert from "node:assert/strict";
import { importPKCS8, SignJWT } from "jose";
import { KbsError } from "@coco/lib/kbs";
import { memoryLogger } from "@coco/lib/log";
import { fakeDeps, type TestKey, testKey } from "./_testing.ts";
import { type AdminRequest, createAdminAuthorizer, endpointOf, parseBearer } from "./authorizer.ts";
import type { Acl, AdminConfig, IdentityProvider } from "./config.ts";
import { mintAdminToken } from "./token.ts";

const NOW = Date.UTC(2025, 0, 1);
const NOW_S = NOW / 1000;
const POLICY = "/kbs/v0/resource-policy";
const ADMIN_ACL: Acl[] = [{ role: "admin", allowedEndpoints: "^/kbs/.+$" }];
const ed = await testKey("EdDSA");
const other = await testKey("EdDSA");

function jwtConfig(providers: IdentityProvider[], acls: Acl[] = ADMIN_ACL): AdminConfig {
  return { mode: "AuthenticatedAuthorization", providers, acls };
}

/** Authorizer trusting `ed` via a PEM file, with the clock at NOW. */
function edAuthorizer(acls: Acl[] = ADMIN_ACL) {
  return createAdminAuthorizer(
    jwtConfig([{ publicKeyUri: "/keys/admin.pub" }], acls),
    fakeDeps({ "/keys/admin.pub": ed.publicKeyPem }, NOW),
  );
}

/** Signs arbitrary claims with `key` (for tokens mintAdminToken would not produce). */
async function sign(key: TestKey, claims: Record<string, unknown>, kid?: string): Promise<string> {
  const header = kid === undefined ? { alg: key.alg } : { alg: key.alg, kid };
  return await new SignJWT(claims).setProtectedHeader(header).sign(
    await importPKCS8(key.privateKeyPem, key.alg),
  );
}

const bearer = (token: string, path = POLICY): AdminRequest => ({
  path,
  authorization: `Bearer ${token}`,
});

/** Asserts `promise` rejects with KbsError AdminAuthAccess and exactly `message`. */
async function deniedWith(promise: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof KbsError);
    assert.equal(err.code, "AdminAuthAccess");
    assert.equal(err.message, message);
    return true;
  });
}

const NOT_VERIFIED =
  "admin access denied for endpoint resource-policy: Admin access denied: Cannot verify token with any of the issuers";
const GRANTED = { mode: "AuthenticatedAuthorization", role: "admin" };

Deno.test("authorize() allows every request when the mode is InsecureAllowAll", async () => {
  const logger = memoryLogger();
  const admin = await createAdminAuthorizer({ mode: "InsecureAllowAll" }, { logger });
  assert.equal(admin.mode, "InsecureAllowAll");
  assert.deepEqual(await admin.authorize({ path: POLICY }), { mode: "InsecureAllowAll" });
  assert.equal(logger.records[0]?.level, "warn");
});

Deno.test("authorize() denies with the upstream message when the mode is DenyAll", async () => {
  const admin = await createAdminAuthorizer({ mode: "DenyAll" });
  const token = await mintAdminToken(ed.privateKeyPem, { ttlSeconds: 60 });
  await deniedWith(
    admin.authorize(bearer(token)),
    "admin access denied for endpoint resource-policy: Admin access denied: DenyAll authorization_mode is enabled",
  );
});

for (const alg of ["EdDSA", "ES256", "ES384", "RS256", "PS256"]) {
  Deno.test(`authorize() grants the role when a ${alg} token verifies with a PEM public key`, async () => {
    const key = alg === "EdDSA" ? ed : await testKey(alg);
    const admin = await createAdminAuthorizer(
      jwtConfig([{ publicKeyUri: "/k.pem" }]),
      fakeDeps({ "/k.pem": key.publicKeyPem }, NOW),
    );
    const token = await sign(key, { role: "admin", exp: NOW_S + 60 });
    assert.deepEqual(await admin.authorize(bearer(token)), GRANTED);
  });
}

Deno.test("authorize() rejects the token when it is signed by an untrusted key", async () => {
  const admin = await edAuthorizer();
  await deniedWith(
    admin.authorize(bearer(await sign(other, { role: "admin", exp: NOW_S + 60 }))),
    NOT_VERIFIED,
  );
});

Deno.test("authorize() rejects the token when its alg does not fit the PEM key type", async () => {
  const rsa = await testKey("RS256");
  const admin = await createAdminAuthorizer(
    jwtConfig([{ publicKeyUri: "/k.pem" }]),
    fakeDeps({ "/k.pem": ed.publicKeyPem }, NOW),
  );
  await deniedWith(
    admin.authorize(bearer(await sign(rsa, { role: "admin", exp: NOW_S + 60 }))),
    NOT_VERIFIED,
  );
});

const EXP_CASES: Array<[string, Record<string, unknown>, boolean]> = [
  ["exp is 61 s in the past (beyond the 60 s leeway)", { exp: NOW_S - 61 }, false],
  ["exp is 60 s in the past (within the leeway)", { exp: NOW_S - 60 }, true],
  ["exp is missing", {}, false],
  ["exp is a string", { exp: String(NOW_S + 60) }, false],
  ["nbf is in the future (nbf is not checked)", { exp: NOW_S + 60, nbf: NOW_S + 3600 }, true],
];

for (const [when, claims, ok] of EXP_CASES) {
  Deno.test(`authorize() ${ok ? "accepts" : "rejects"} the token when ${when}`, async () => {
    const admin = await edAuthorizer();
    const result = admin.authorize(bearer(await sign(ed, { role: "admin", ...claims })));
    if (ok) assert.deepEqual(await result, GRANTED);
    else await deniedWith(result, NOT_VERIFIED);
  });
}

Deno.test("authorize() honours the injected clock when a minted token expires", async () => {
  const token = await mintAdminToken(ed.privateKeyPem, { ttlSeconds: 300 }, NOW - 300_000);
  assert.deepEqual(await (await edAuthorizer()).authorize(bearer(token)), GRANTED);
  const later = await createAdminAuthorizer(
    jwtConfig([{ publicKeyUri: "/k" }]),
    fakeDeps({ "/k": ed.publicKeyPem }, NOW + 61_000),
  );
  await deniedWith(later.authorize(bearer(token)), NOT_VERIFIED);
});

Deno.test("authorize() tries the next provider when the issuer does not match", async () => {
  const logger = memoryLogger();
  const files = { "/k": ed.publicKeyPem };
  const admin = await createAdminAuthorizer(
    jwtConfig([{ issuer: "A", publicKeyUri: "/k" }, { issuer: "B", publicKeyUri: "/k" }]),
    { ...fakeDeps(files, NOW), logger },
  );
  const fromB = await mintAdminToken(ed.privateKeyPem, { issuer: "B", ttlSeconds: 60 }, NOW);
  assert.deepEqual(await admin.authorize(bearer(fromB)), GRANTED);
  assert.ok(
    logger.records.some((r) => r.level === "warn" && r["expected"] === "A" && r["got"] === "B"),
  );
  const fromC = await mintAdminToken(ed.privateKeyPem, { issuer: "C", ttlSeconds: 60 }, NOW);
  await deniedWith(admin.authorize(bearer(fromC)), NOT_VERIFIED);
});

const AUD_CASES: Array<[string, unknown, boolean]> = [
  ["aud is a matching string", "KBS", true],
  ["aud is an array containing the audience", ["other", "KBS"], true],
  ["aud does not contain the audience", ["other"], false],
  ["aud is missing", undefined, false],
];

for (const [when, aud, ok] of AUD_CASES) {
  Deno.test(`authorize() ${ok ? "accepts" : "rejects"} the token when ${when}`, async () => {
    const admin = await createAdminAuthorizer(
      jwtConfig([{ audience: "KBS", publicKeyUri: "/k" }]),
      fakeDeps({ "/k": ed.publicKeyPem }, NOW),
    );
    const claims = aud === undefined ? {} : { aud };
    const result = admin.authorize(
      bearer(await sign(ed, { role: "admin", exp: NOW_S + 60, ...claims })),
    );
    if (ok) assert.deepEqual(await result, GRANTED);
    else await deniedWith(result, NOT_VERIFIED);
  });
}

Deno.test("authorize() denies with the role and path when no ACL matches", async () => {
  const admin = await edAuthorizer([{ role: "admin", allowedEndpoints: "^/kbs/v0/resource/.+$" }]);
  const reader = await mintAdminToken(ed.privateKeyPem, { role: "reader", ttlSeconds: 60 }, NOW);
  await deniedWith(
    admin.authorize(bearer(reader, "/kbs/v0/resource/a/b/c")),
    "admin access denied for endpoint resource: Admin access denied: Role reader not allowed for path /kbs/v0/resource/a/b/c",
  );
  const adminToken = await mintAdminToken(ed.privateKeyPem, { ttlSeconds: 60 }, NOW);
  assert.deepEqual(await admin.authorize(bearer(adminToken, "/kbs/v0/resource/a/b/c")), GRANTED);
  await deniedWith(
    admin.authorize(bearer(adminToken)),
    "admin access denied for endpoint resource-policy: Admin access denied: Role admin not allowed for path /kbs/v0/resource-policy",
  );
});

Deno.test("authorize() matches the ACL against path and query when a query string is present", async () => {
  const admin = await edAuthorizer([{
    role: "admin",
    allowedEndpoints: "^/kbs/v0/nebula-ca/credential\\?name=[a-z]+$",
  }]);
  const token = await mintAdminToken(ed.privateKeyPem, { ttlSeconds: 60 }, NOW);
  const path = "/kbs/v0/nebula-ca/credential";
  assert.deepEqual(await admin.authorize({ ...bearer(token, path), query: "name=poda" }), GRANTED);
  assert.deepEqual(await admin.authorize({ ...bearer(token, path), query: "?name=poda" }), GRANTED);
  await deniedWith(
    admin.authorize({ ...bearer(token, path), query: "name=poda&ip=1" }),
    `admin access denied for endpoint nebula-ca: Admin access denied: Role admin not allowed for path ${path}?name=poda&ip=1`,
  );
  await deniedWith(
    admin.authorize(bearer(token, path)),
    `admin access denied for endpoint nebula-ca: Admin access denied: Role admin not allowed for path ${path}`,
  );
});

Deno.test("authorize() denies with a clear message when the role claim is missing", async () => {
  const admin = await edAuthorizer();
  await deniedWith(
    admin.authorize(bearer(await sign(ed, { exp: NOW_S + 60 }))),
    "admin access denied for endpoint resource-policy: Admin access denied: Failed to parse claims from token: missing required `role` claim in JWT",
  );
});

const BAD_HEADERS: Array<[string, string | null | undefined, string]> = [
  ["the header is absent", undefined, "no Authorization header"],
  ["the header is null", null, "no Authorization header"],
  ["the scheme is Basic", "Basic YWRtaW46YWRtaW4=", 'expected "Authorization: Bearer <token>"'],
  ["the token is missing", "Bearer", 'expected "Authorization: Bearer <token>"'],
  ["the token has a space", "Bearer a b", 'expected "Authorization: Bearer <token>"'],
];

for (const [when, header, why] of BAD_HEADERS) {
  Deno.test(`authorize() denies when ${when}`, async () => {
    const admin = await edAuthorizer();
    await deniedWith(
      admin.authorize({ path: POLICY, authorization: header }),
      `admin access denied for endpoint resource-policy: Failed to parse HTTP Auth Bearer header: ${why}`,
    );
  });
}

Deno.test("authorize() rejects the token when the bearer value is not a JWT", async () => {
  await deniedWith((await edAuthorizer()).authorize(bearer("not.a.jwt")), NOT_VERIFIED);
});

Deno.test("parseBearer() accepts any scheme case when the token follows", () => {
  assert.equal(parseBearer("bearer abc.def.ghi"), "abc.def.ghi");
  assert.equal(parseBearer("Bearer   x  "), "x");
});

Deno.test("endpointOf() names the first segment after /kbs/v0/ when given a path", () => {
  assert.equal(endpointOf("/kbs/v0/resource/a/b/c"), "resource");
  assert.equal(endpointOf("/kbs/v0/resource-policy"), "resource-policy");
  assert.equal(endpointOf("/other"), "/other");
});
