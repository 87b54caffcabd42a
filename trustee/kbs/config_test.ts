import assert from "node:assert/strict";
import { ConfigError } from "@coco/lib/config";
import { loadKbsConfig, parseKbsConfig } from "./config.ts";

const KBS = new URL("../../../shared/testdata/trustee/kbs/", import.meta.url);
const path = (p: string) => new URL(p, KBS).pathname;

Deno.test("loadKbsConfig() reads upstream's kbs-config.toml, e2e kbs.toml and resource-kbs.toml", async () => {
  const plain = await loadKbsConfig(path("config/kbs-config.toml"));
  assert.equal(plain.http_server.insecure_http, true);
  assert.deepEqual(plain.http_server.sockets, ["127.0.0.1:8080"]);
  assert.equal(plain.attestation_token.insecure_header_jwk, true);
  assert.equal(plain.admin.mode, "InsecureAllowAll");
  assert.equal(plain.storage_backend.type, "LocalFs");
  assert.deepEqual(plain.plugins, [{ name: "resource", storage_backend_type: "kvstorage" }]);

  const e2e = await loadKbsConfig(path("test/config/kbs.toml"));
  assert.equal(e2e.http_server.insecure_http, false);
  assert.equal(e2e.http_server.private_key, "./work/https.key");
  assert.deepEqual(e2e.attestation_token.trusted_certs_paths, ["./work/ca-cert.pem"]);
  assert.deepEqual(e2e.attestation_service.signer, {
    key_path: "./work/token.key",
    cert_path: "./work/token-cert-chain.pem",
  });
  assert.equal(e2e.admin.mode, "AuthenticatedAuthorization");

  const passport = await loadKbsConfig(path("test/config/resource-kbs.toml"));
  assert.equal(passport.attestation_service.type, "coco_as_builtin");
  assert.equal(passport.attestation_service.timeout, 5);
});

Deno.test("loadKbsConfig() reads upstream's coco-as-builtin-2 test config", async () => {
  const two = await loadKbsConfig(path("test_data/configs/coco-as-builtin-2.toml"));
  assert.equal(two.storage_backend.type, "Memory");
  assert.deepEqual(two.http_server.sockets, ["0.0.0.0:8080"]);
});

Deno.test("loadKbsConfig() refuses coco-as-builtin-3: bearer JWT auth with no identity provider", async () => {
  // Upstream only parse-tests this file; a KBS started with it could authenticate nobody.
  await assert.rejects(
    loadKbsConfig(path("test_data/configs/coco-as-builtin-3.toml")),
    /identity_providers/,
  );
});

Deno.test("loadKbsConfig() refuses a remote RVPS naming the key and the file", async () => {
  const file = path("test_data/configs/coco-as-builtin-1.toml");
  await assert.rejects(
    loadKbsConfig(file),
    (e) =>
      e instanceof ConfigError && e.message.includes(file) &&
      /rvps_config\.type `GrpcRemote`/.test(e.message),
  );
});

Deno.test("parseKbsConfig() requires [http_server] and [admin] and checks sockets", () => {
  assert.throws(
    () => parseKbsConfig({ admin: {} }, "x.toml"),
    /missing required section \[http_server\]/,
  );
  assert.throws(
    () => parseKbsConfig({ http_server: {} }, "x.toml"),
    /missing required section \[admin\]/,
  );
  assert.throws(
    () => parseKbsConfig({ http_server: { sockets: ["nope"] }, admin: {} }, "x.toml"),
    /http_server.sockets: `nope` is not host:port/,
  );
  assert.throws(
    () =>
      parseKbsConfig(
        { http_server: {}, admin: {}, attestation_service: { type: "coco_as_grpc" } },
        "x.toml",
      ),
    /attestation_service.type `coco_as_grpc` is not supported/,
  );
  assert.throws(
    () =>
      parseKbsConfig({ http_server: {}, admin: {}, plugins: [{ name: "nebula-ca" }] }, "x.toml"),
    /plugins\[0\].name `nebula-ca` is not a known plugin/,
  );
  const d = parseKbsConfig({ http_server: {}, admin: {} }, "x.toml");
  assert.equal(d.http_server.payload_request_size, 2);
  assert.equal(d.attestation_service.broker.duration_min, 5);
  assert.equal(d.storage_backend.type, "Memory");
});
