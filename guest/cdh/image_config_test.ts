import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { ConfigError } from "@coco/lib/config";
import { parseCdhConfig } from "./config.ts";
import { parseImagePullConfig } from "./image_config.ts";

const cfg = (image: string) =>
  parseCdhConfig(parse(`[kbc]\nname = "offline_fs_kbc"\n${image}`), "cdh.toml").image;

Deno.test("parseImagePullConfig() gives image-rs defaults without an [image] section", () => {
  assert.deepEqual(parseImagePullConfig(undefined), {
    workDir: "/run/kata-containers/image",
    maxConcurrentLayerDownloadsPerImage: 3,
    extraRootCertificates: [],
  });
});

Deno.test("parseImagePullConfig() reads upstream's [image] keys, inline registry_config included", () => {
  const image = cfg(`
[image]
work_dir = "/run/image-rs/"
max_concurrent_layer_downloads_per_image = 4
image_security_policy_uri = "kbs:///default/security-policy/test"
image_security_policy = '{"default":[{"type":"reject"}]}'
sigstore_config_uri = "file:///etc/containers/registries.d/default.yaml"
authenticated_registry_credentials_uri = "kbs:///default/credential/test"
registry_configuration_uri = "/etc/containers/registries.conf"
anonymous_fallback_on_unauthorized = false
extra_root_certificates = ["-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----"]
[image.registry_config]
unqualified-search-registries = ["docker.io", "example1.com"]
[[image.registry_config.registry]]
prefix = "example.com/foo"
location = "internal-registry/bar"
[[image.registry_config.registry.mirror]]
location = "mirror.local/foo"
insecure = true
[image.image_pull_proxy]
no_proxy = "localhost"
`);
  assert.equal(image.workDir, "/run/image-rs");
  assert.equal(image.maxConcurrentLayerDownloadsPerImage, 4);
  assert.equal(image.imageSecurityPolicyUri, "kbs:///default/security-policy/test");
  assert.equal(image.imageSecurityPolicy, '{"default":[{"type":"reject"}]}');
  assert.equal(image.sigstoreConfigUri, "file:///etc/containers/registries.d/default.yaml");
  assert.equal(image.authenticatedRegistryCredentialsUri, "kbs:///default/credential/test");
  assert.equal(image.registryConfigurationUri, "/etc/containers/registries.conf");
  assert.equal(image.extraRootCertificates.length, 1);
  assert.deepEqual(image.registryConfig, {
    unqualifiedSearchRegistries: ["docker.io", "example1.com"],
    registries: [{
      prefix: "example.com/foo",
      location: "internal-registry/bar",
      insecure: false,
      blocked: false,
      mirrors: [{ location: "mirror.local/foo", insecure: true }],
    }],
  });
});

Deno.test("parseImagePullConfig() errors name the key and the file", () => {
  const cases: [string, RegExp][] = [
    [`[image]\nwhatever = 1`, /image: unknown field `whatever`/],
    [`[image]\nwork_dir = "relative"`, /image\.work_dir `relative` must be an absolute path/],
    [`[image]\nwork_dir = "/a/../b"`, /image\.work_dir `\/a\/\.\.\/b` must be an absolute path/],
    [
      `[image]\nmax_concurrent_layer_downloads_per_image = 0`,
      /max_concurrent_layer_downloads_per_image must be an integer from 1 to 64 \(got 0\)/,
    ],
    [
      `[image]\nmax_concurrent_layer_downloads_per_image = "3"`,
      /max_concurrent_layer_downloads_per_image must be a number/,
    ],
    [
      `[image]\nimage_security_policy_uri = "https://example.com/policy.json"`,
      /image_security_policy_uri `https:\/\/example\.com\/policy\.json` must be a kbs:\/\/\//,
    ],
    [
      `[image]\nauthenticated_registry_credentials_uri = "auth.json"`,
      /authenticated_registry_credentials_uri `auth\.json` must be/,
    ],
    [
      `[image.image_pull_proxy]\nhttps_proxy = "http://127.0.0.1:5432"`,
      /image\.image_pull_proxy\.https_proxy: pulling through a proxy is not supported/,
    ],
    [
      `[image]\nanonymous_fallback_on_unauthorized = true`,
      /anonymous_fallback_on_unauthorized = true is not supported/,
    ],
    [`[image]\nextra_root_certificates = ["nope"]`, /extra_root_certificates\[0\] is not a PEM/],
    [
      `[image.registry_config]\nbogus = 1`,
      /Invalid registries config \[image\.registry_config\]: top level: unknown key "bogus"/,
    ],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => cfg(text), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, /^Invalid config file cdh\.toml: /);
      assert.match(e.message, re);
      return true;
    }, text);
  }
});
