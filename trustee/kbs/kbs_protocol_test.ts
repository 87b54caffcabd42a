import assert from "node:assert/strict";
import { decryptResource, parseFlattenedJwe } from "@coco/lib/jose";
import * as jose from "jose";
import { attest, auth, testKbs } from "./_testing.ts";
import { samplePolicy } from "./resource_policy.ts";

const TYPE = "https://github.com/confidential-containers/kbs/errors/";

interface Ear {
  iss: string;
  iat: number;
  exp: number;
  submods: Record<string, {
    "ear.status": string;
    "ear.trustworthiness-vector": Record<string, number>;
    "ear.appraisal-policy-id": string;
    "ear.veraison.annotated-evidence": {
      runtime_data_claims: Record<string, unknown>;
      sample: { svn: string };
    };
  }>;
}

async function expectError(res: Response, status: number, code: string, detail?: RegExp) {
  assert.equal(res.status, status);
  const body = await res.json();
  assert.equal(body.type, TYPE + code);
  if (detail) assert.match(body.detail, detail);
}

Deno.test('POST /kbs/v0/auth answers a 44-char nonce, extra-params "" and a session cookie', async () => {
  const t = await testKbs();
  try {
    const res = await t.call("POST", "/kbs/v0/auth", {
      body: '{"version":"0.4.0","tee":"sample","extra-params":""}',
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.nonce.length, 44);
    assert.equal(Uint8Array.fromBase64(body.nonce).length, 32);
    assert.equal(body["extra-params"], "");
    assert.match(
      res.headers.get("set-cookie")!,
      /^kbs-session-id=[0-9a-f]{32}; Expires=\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/,
    );
  } finally {
    await t.close();
  }
});

Deno.test("POST /kbs/v0/auth refuses bad JSON, wrong version and unknown TEEs with 401", async () => {
  const t = await testKbs();
  try {
    await expectError(
      await t.call("POST", "/kbs/v0/auth", { body: "{not json" }),
      401,
      "AttestationError",
      /invalid JSON/,
    );
    await expectError(
      await t.call("POST", "/kbs/v0/auth", {
        body: '{"version":"0.1.1","tee":"sample","extra-params":""}',
      }),
      401,
      "AttestationError",
      /KBS Client Protocol Version Mismatch: expect =0\.4\.0 while the request is 0\.1\.1/,
    );
    await expectError(
      await t.call("POST", "/kbs/v0/auth", {
        body: '{"version":"0.4.0","tee":"nope","extra-params":""}',
      }),
      401,
      "AttestationError",
      /unknown tee `nope`/,
    );
    await expectError(
      await t.call("GET", "/kbs/v0/auth"),
      404,
      "PluginNotFound",
      /Plugin auth not found/,
    );
  } finally {
    await t.close();
  }
});

Deno.test("POST /kbs/v0/attest issues an EAR token whose annotated evidence carries the TEE key", async () => {
  const t = await testKbs();
  try {
    const h = await attest(t);
    const header = jose.decodeProtectedHeader(h.token);
    assert.equal(header.alg, "ES256");
    assert.equal((header.jwk as { crv: string }).crv, "P-256");
    const claims = jose.decodeJwt(h.token) as unknown as Ear;
    const cpu0 = claims.submods.cpu0!;
    assert.equal(cpu0["ear.status"], "contraindicated");
    assert.deepEqual(cpu0["ear.trustworthiness-vector"].hardware, 97);
    assert.equal(cpu0["ear.appraisal-policy-id"], "default");
    const ev = cpu0["ear.veraison.annotated-evidence"];
    assert.deepEqual(ev.runtime_data_claims["tee-pubkey"], h.key.publicJwk);
    assert.equal(ev.sample.svn, "1");
    assert.equal(claims.iss, "CoCo-Attestation-Service");
    assert.equal(claims.exp - claims.iat, 300);
  } finally {
    await t.close();
  }
});

Deno.test("POST /kbs/v0/attest refuses a wrong nonce, tampered evidence, no cookie and unknown sessions", async () => {
  const t = await testKbs();
  try {
    const h = await auth(t);
    const other = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    await expectError(
      await t.call("POST", "/kbs/v0/attest", {
        body: h.attestBody({ nonce: other }),
        headers: { Cookie: h.cookie },
      }),
      401,
      "AttestationError",
      /nonce does not match/,
    );
    await expectError(
      await t.call("POST", "/kbs/v0/attest", {
        body: h.attestBody({ reportData: new Uint8Array(48) }),
        headers: { Cookie: h.cookie },
      }),
      401,
      "AttestationError",
      /report_data does not match/,
    );
    await expectError(
      await t.call("POST", "/kbs/v0/attest", { body: h.attestBody() }),
      401,
      "AttestationError",
      /cookie/,
    );
    await expectError(
      await t.call("POST", "/kbs/v0/attest", {
        body: h.attestBody(),
        headers: { Cookie: "kbs-session-id=" + "0".repeat(32) },
      }),
      401,
      "AttestationError",
      /session not found/,
    );
    await expectError(
      await t.call("POST", "/kbs/v0/attest", {
        body: '{"runtime-data":{},"tee-evidence":{"primary_evidence":{}}}',
        headers: { Cookie: h.cookie },
      }),
      401,
      "AttestationError",
      /runtime-data.nonce must be a string/,
    );
  } finally {
    await t.close();
  }
});

Deno.test("a session expires after attestation_service.timeout minutes", async () => {
  let now = Date.UTC(2026, 10, 22, 10, 0, 0);
  const t = await testKbs({ now: () => now });
  try {
    const h = await auth(t);
    now += 5 * 60_000 + 1000;
    await expectError(
      await t.call("POST", "/kbs/v0/attest", {
        body: h.attestBody(),
        headers: { Cookie: h.cookie },
      }),
      401,
      "AttestationError",
      /session not found or expired/,
    );
  } finally {
    await t.close();
  }
});

Deno.test("GET resource: default policy denies the sample TEE; allow_all releases a JWE the TEE key opens", async () => {
  const t = await testKbs();
  try {
    const admin = { Authorization: `Bearer ${t.adminToken}` };
    assert.equal(
      (await t.call("POST", "/kbs/v0/resource/one/two/three", { body: "s3cret", headers: admin }))
        .status,
      200,
    );
    const h = await attest(t);
    await expectError(
      await t.call("GET", "/kbs/v0/resource/one/two/three", { headers: { Cookie: h.cookie } }),
      401,
      "PolicyDeny",
      /Access denied by policy/,
    );
    const policy = new TextEncoder().encode(await samplePolicy("allow_all")).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
    assert.equal(
      (await t.call("POST", "/kbs/v0/resource-policy", {
        body: JSON.stringify({ policy }),
        headers: admin,
      })).status,
      200,
    );
    for (const headers of [{ Cookie: h.cookie }, { Authorization: `Bearer ${h.token}` }]) {
      const res = await t.call("GET", "/kbs/v0/resource/one/two/three", { headers });
      assert.equal(res.status, 200);
      const plain = await decryptResource(
        parseFlattenedJwe(await res.json()),
        h.key.privateKey,
        h.key.privateJwk,
      );
      assert.equal(new TextDecoder().decode(plain), "s3cret");
    }
    await expectError(
      await t.call("GET", "/kbs/v0/resource/one/two/four", { headers: { Cookie: h.cookie } }),
      404,
      "ResourceNotFound",
    );
    await expectError(
      await t.call("GET", "/kbs/v0/resource/one/two", { headers: { Cookie: h.cookie } }),
      404,
      "InvalidRequestPath",
    );
    await expectError(
      await t.call("GET", "/kbs/v0/resource/one/../three", { headers: { Cookie: h.cookie } }),
      404,
      "InvalidRequestPath",
    );
    await expectError(await t.call("GET", "/kbs/v0/resource/one/two/three"), 401, "TokenNotFound");
    await expectError(
      await t.call("GET", "/kbs/v0/resource/one/two/three", {
        headers: { Authorization: "Bearer abc.def.ghi" },
      }),
      401,
      "TokenVerifierError",
    );
    await expectError(await t.call("GET", "/kbs/v0/nope/x"), 404, "PluginNotFound");
  } finally {
    await t.close();
  }
});

Deno.test("a token signed by another key is refused even with the right shape", async () => {
  const t = await testKbs();
  try {
    const h = await attest(t);
    const claims = jose.decodeJwt(h.token);
    const { privateKey, publicKey } = await jose.generateKeyPair("ES256", { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), alg: "ES256" };
    const forged = await new jose.SignJWT(claims).setProtectedHeader({ alg: "ES256", jwk }).sign(
      privateKey,
    );
    await expectError(
      await t.call("GET", "/kbs/v0/resource/one/two/three", {
        headers: { Authorization: `Bearer ${forged}` },
      }),
      401,
      "TokenVerifierError",
    );
  } finally {
    await t.close();
  }
});

Deno.test("admin endpoints refuse a missing or wrong token and padded or invalid policies", async () => {
  const t = await testKbs();
  try {
    const body = JSON.stringify({ policy: "cGFja2FnZSBwb2xpY3k" });
    await expectError(
      await t.call("POST", "/kbs/v0/resource-policy", { body }),
      401,
      "AdminAuthAccess",
    );
    await expectError(
      await t.call("POST", "/kbs/v0/resource-policy", {
        body,
        headers: { Authorization: "Bearer x.y.z" },
      }),
      401,
      "AdminAuthAccess",
    );
    const admin = { Authorization: `Bearer ${t.adminToken}` };
    await expectError(
      await t.call("POST", "/kbs/v0/resource-policy", {
        body: JSON.stringify({ policy: "cGFja2FnZSBwb2xpY3k=" }),
        headers: admin,
      }),
      401,
      "ParsePolicyError",
      /base64url without padding/,
    );
    const bad = new TextEncoder().encode("package policy\nallow if {").toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
    await expectError(
      await t.call("POST", "/kbs/v0/resource-policy", {
        body: JSON.stringify({ policy: bad }),
        headers: admin,
      }),
      401,
      "ParsePolicyError",
    );
    const list = await t.call("GET", "/kbs/v0/resource-policy", { headers: admin });
    assert.deepEqual(await list.json(), ["resource-policy"]);
    await expectError(
      await t.call("POST", "/kbs/v0/resource-policy", { body: "{", headers: admin }),
      401,
      "ParsePolicyError",
    );
  } finally {
    await t.close();
  }
});

Deno.test("request bodies over payload_request_size are refused with 413", async () => {
  const t = await testKbs({ payloadMiB: 0.001 });
  try {
    const res = await t.call("POST", "/kbs/v0/auth", {
      body: "x".repeat(4096),
      headers: { "Content-Length": "4096" },
    });
    await expectError(res, 413, "PayloadTooLarge");
  } finally {
    await t.close();
  }
});

Deno.test("reference values registered through the admin API reach the AS policy", async () => {
  const t = await testKbs();
  try {
    const admin = { Authorization: `Bearer ${t.adminToken}` };
    const payload = new TextEncoder().encode(JSON.stringify({
      svn: ["1"],
      launch_digest: ["abcde"],
      major_version: 1,
      minimum_minor_version: 1,
    })).toBase64();
    const reg = await t.call("POST", "/kbs/v0/reference-value", {
      body: JSON.stringify({ version: "0.1.0", type: "sample", payload }),
      headers: admin,
    });
    assert.equal(reg.status, 200);
    assert.deepEqual(
      await (await t.call("GET", "/kbs/v0/reference-value/svn", { headers: admin })).json(),
      ["1"],
    );
    await expectError(
      await t.call("GET", "/kbs/v0/reference-value/missing", { headers: admin }),
      401,
      "RvpsError",
    );
    const h = await attest(t);
    const cpu0 = (jose.decodeJwt(h.token) as { submods: Record<string, Record<string, unknown>> })
      .submods.cpu0!;
    assert.equal(cpu0["ear.status"], "affirming");
    assert.deepEqual(cpu0["ear.trustworthiness-vector"], {
      executables: 3,
      hardware: 2,
      configuration: 2,
      "file-system": 0,
      "instance-identity": 0,
      "runtime-opaque": 0,
      "storage-opaque": 0,
      "sourced-data": 0,
    });
  } finally {
    await t.close();
  }
});
