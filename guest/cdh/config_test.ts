import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { ConfigError } from "@coco/lib/config";
import {
  cdhConfigFromKbcParams,
  DEFAULT_CDH_SOCKET,
  loadCdhConfig,
  parseCdhConfig,
} from "./config.ts";
import { DEFAULT_AA_SOCKET } from "../attestation_agent/config.ts";

Deno.test("parseCdhConfig() fills defaults around a minimal offline_fs_kbc", () => {
  assert.deepEqual(parseCdhConfig(parse(`[kbc]\nname = "offline_fs_kbc"`), "cdh.toml"), {
    socket: DEFAULT_CDH_SOCKET,
    skipSealedSecretVerification: false,
    aaSocket: DEFAULT_AA_SOCKET,
    kbc: { name: "offline_fs_kbc" },
    credentials: [],
    image: {
      workDir: "/run/kata-containers/image",
      maxConcurrentLayerDownloadsPerImage: 3,
      extraRootCertificates: [],
    },
    log: { level: "info" },
  });
});

Deno.test("parseCdhConfig() reads cc_kbc, credentials and [image]", () => {
  const cfg = parseCdhConfig(
    parse(`
socket = "unix:///tmp/cdh.sock"
skip_sealed_secret_verification = true
[aa]
aa_socket = "unix:///tmp/aa.sock"
[kbc]
name = "cc_kbc"
url = "http://kbs:8080/"
kbs_cert = "PEM"
[[credentials]]
resource_uri = "kbs:///default/aliyun/ecs_ram_role"
path = "/run/confidential-containers/cdh/kbs/kms-credential/aliyun/ecsRamRole.json"
[image]
max_concurrent_layer_downloads_per_image = 5
image_security_policy_uri = "kbs:///default/security-policy/test"
`),
    "cdh.toml",
  );
  assert.deepEqual(cfg.kbc, { name: "cc_kbc", url: "http://kbs:8080", kbsCert: "PEM" });
  assert.equal(cfg.aaSocket, "unix:///tmp/aa.sock");
  assert.equal(cfg.skipSealedSecretVerification, true);
  assert.equal(cfg.credentials.length, 1);
  assert.equal(cfg.image.maxConcurrentLayerDownloadsPerImage, 5);
  assert.equal(cfg.image.imageSecurityPolicyUri, "kbs:///default/security-policy/test");
});

Deno.test("parseCdhConfig() errors name the key and the file", () => {
  const cases: Array<[string, RegExp]> = [
    [``, /missing required section \[kbc\]/],
    [`[kbc]\nname = "foo_kbc"`, /kbc\.name `foo_kbc` is not one of/],
    [`[kbc]\nname = "cc_kbc"`, /kbc\.url `` is not a URL/],
    [
      `skip_sealed_secret_verification = "no"\n[kbc]\nname = "offline_fs_kbc"`,
      /skip_sealed_secret_verification must be a boolean/,
    ],
    [
      `[kbc]\nname = "offline_fs_kbc"\n[[credentials]]`,
      /credentials\[0\]\.resource_uri must be a string/,
    ],
    [
      `[kbc]\nname = "offline_fs_kbc"\n[[credentials]]\nresource_uri = "http://x/a"\npath = "/run/confidential-containers/cdh/kbs/a"`,
      /credentials\[0\]\.resource_uri: Cannot parse resource URI/,
    ],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseCdhConfig(parse(text), "/etc/cdh.toml"),
      (e: unknown) =>
        e instanceof ConfigError && /Invalid config file \/etc\/cdh\.toml/.test(e.message) &&
        re.test(e.message),
    );
  }
});

Deno.test("parseCdhConfig() rejects credential paths outside the kbs dir or with . / ..", () => {
  for (
    const path of [
      "/etc/config.toml",
      "/run/confidential-containers/cdh/kbs/../x",
      "/run/confidential-containers/cdh/kbs/./x",
      "/run/confidential-containers/cdh/kbsx",
    ]
  ) {
    const cfg = {
      kbc: { name: "offline_fs_kbc" },
      credentials: [{ resource_uri: "kbs:///a/b/c", path }],
    };
    assert.throws(() => parseCdhConfig(cfg, "cdh.toml"), /credentials\[0\]\.path .* must be under/);
  }
});

Deno.test("loadCdhConfig() parses cdh.example.toml", async () => {
  const cfg = await loadCdhConfig(new URL("./cdh.example.toml", import.meta.url).pathname);
  assert.equal(cfg.kbc.name, "cc_kbc");
  assert.equal(cfg.image.authenticatedRegistryCredentialsUri, "kbs:///default/credential/test");
});

Deno.test("cdhConfigFromKbcParams() defaults to offline_fs_kbc", () => {
  assert.deepEqual(cdhConfigFromKbcParams(undefined).kbc, { name: "offline_fs_kbc" });
  assert.deepEqual(cdhConfigFromKbcParams("cc_kbc::http://k:1").kbc, {
    name: "cc_kbc",
    url: "http://k:1",
  });
  assert.throws(() => cdhConfigFromKbcParams("a::b::c"), /expected <kbc>::<url>/);
});
