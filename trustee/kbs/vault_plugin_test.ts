import assert from "node:assert/strict";
import { decryptResource, parseFlattenedJwe } from "@coco/lib/jose";
import { startFakeVault } from "../storage/fake_vault.ts";
import { attest, testKbs } from "./_testing.ts";
import { parseKbsConfig } from "./config.ts";
import { samplePolicy } from "./resource_policy.ts";

const ADMIN = { authorization_mode: "InsecureAllowAll" };

Deno.test("resource plugin with storage_backend_type Vault writes and releases resources through KV v1", async () => {
  const vault = startFakeVault("kbs");
  const t = await testKbs({
    extra: {
      plugins: [{
        name: "resource",
        storage_backend_type: "Vault",
        vault_url: vault.url,
        token: vault.token,
        mount_path: "kbs",
      }],
    },
  });
  try {
    const admin = { Authorization: `Bearer ${t.adminToken}` };
    const put = await t.call("POST", "/kbs/v0/resource/default/key/v1", {
      body: "vault secret",
      headers: admin,
    });
    assert.equal(put.status, 200);
    assert.deepEqual(vault.secrets.get("default/key/v1"), {
      data: [...new TextEncoder().encode("vault secret")],
    });
    const policy = new TextEncoder().encode(await samplePolicy("allow_all")).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
    await t.call("POST", "/kbs/v0/resource-policy", {
      body: JSON.stringify({ policy }),
      headers: admin,
    });
    const h = await attest(t);
    const res = await t.call("GET", "/kbs/v0/resource/default/key/v1", {
      headers: { Cookie: h.cookie },
    });
    assert.equal(res.status, 200);
    const plain = await decryptResource(
      parseFlattenedJwe(await res.json()),
      h.key.privateKey,
      h.key.privateJwk,
    );
    assert.equal(new TextDecoder().decode(plain), "vault secret");
    const del = await t.call("DELETE", "/kbs/v0/resource/default/key/v1", { headers: admin });
    assert.equal(del.status, 200);
    assert.equal(vault.secrets.has("default/key/v1"), false);
  } finally {
    await t.close();
    await vault.close();
  }
});

const BAD: Array<[string, Record<string, unknown>, RegExp]> = [
  ["verify_ssl is false", {
    plugins: [{
      name: "resource",
      storage_backend_type: "Vault",
      vault_url: "https://v",
      token: "t",
      verify_ssl: false,
    }],
  }, /plugins\[0\]\.verify_ssl = false is refused/],
  ["the Vault token is missing", {
    plugins: [{ name: "resource", storage_backend_type: "Vault", vault_url: "https://v" }],
  }, /plugins\[0\]\.token must be a string/],
  [
    "tls_min_version is 1.1",
    { http_server: { tls_min_version: "1.1" } },
    /http_server\.tls_min_version `1\.1` is not supported/,
  ],
  ["a limit is unknown", { limits: { max_flows: 1 } }, /limits: unknown field `max_flows`/],
];

for (const [when, extra, why] of BAD) {
  Deno.test(`parseKbsConfig() refuses the config naming the key when ${when}`, () => {
    assert.throws(
      () => parseKbsConfig({ http_server: {}, admin: ADMIN, ...extra }, "kbs.toml"),
      why,
    );
  });
}

Deno.test("parseKbsConfig() keeps sessions in memory for LocalFs unless session_storage_type is set", () => {
  const local = { storage_type: "LocalFs", backends: { local_fs: { dir_path: "/d" } } };
  assert.equal(
    parseKbsConfig({ http_server: {}, admin: ADMIN, storage_backend: local }, "k").session_storage
      .type,
    "Memory",
  );
  const explicit = parseKbsConfig({
    http_server: {},
    admin: ADMIN,
    storage_backend: local,
    session_storage_type: "LocalFs",
  }, "k");
  assert.deepEqual(explicit.session_storage, { type: "LocalFs", dirPath: "/d" });
  const pg = parseKbsConfig({
    http_server: {},
    admin: ADMIN,
    storage_backend: { storage_type: "Postgres" },
  }, "k");
  assert.equal(pg.session_storage.type, "Postgres");
});
