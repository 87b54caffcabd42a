import assert from "node:assert/strict";
import { parse } from "smol-toml";
import { ConfigError } from "@coco/lib/config";
import { aaConfigFromKbcParams, defaultAaConfig, loadAaConfig, parseAaConfig } from "./config.ts";

const toml = (text: string) => parse(text);

Deno.test("parseAaConfig() gives defaults for an empty file", () => {
  assert.deepEqual(parseAaConfig(toml(""), "aa.toml"), defaultAaConfig());
});

Deno.test("parseAaConfig() reads every section and ignores unknown keys", () => {
  const cfg = parseAaConfig(
    toml(`
unknown = 1
[token_configs.kbs]
url = "http://kbs:8080/"
tee_key_algorithm = "RSA-OAEP-256"
extra = true
[token_configs.coco_as]
url = "http://as:8000"
[eventlog_config]
init_pcr = 16
enable_eventlog = true
[log]
level = "debug"
`),
    "aa.toml",
  );
  assert.deepEqual(cfg, {
    tokenConfigs: {
      kbs: { url: "http://kbs:8080", teeKeyAlgorithm: "RSA-OAEP-256" },
      cocoAs: { url: "http://as:8000" },
    },
    eventlog: { initPcr: 16, enableEventlog: true },
    log: { level: "debug" },
  });
});

Deno.test("parseAaConfig() accepts the JSON form", () => {
  const cfg = parseAaConfig({ token_configs: { kbs: { url: "http://k" } } }, "aa.json");
  assert.equal(cfg.tokenConfigs.kbs?.teeKeyAlgorithm, "ECDH-ES+A256KW-P256");
});

Deno.test("parseAaConfig() errors name the key and the file", () => {
  const cases: Array<[string, RegExp]> = [
    [`[token_configs.kbs]\nurl = 5`, /aa\.toml.*token_configs\.kbs\.url must be a string/],
    [
      `[token_configs.kbs]\nurl = "x"\ntee_key_algorithm = "A128"`,
      /token_configs\.kbs\.url `x` is not a URL/,
    ],
    [
      `[token_configs.kbs]\nurl = "http://k"\ntee_key_algorithm = "A128"`,
      /tee_key_algorithm `A128` is not one of/,
    ],
    [`[eventlog_config]\ninit_pcr = 99`, /aa\.toml.*eventlog_config\.init_pcr must be an integer/],
    [
      `[eventlog_config]\nenable_eventlog = "yes"`,
      /eventlog_config\.enable_eventlog must be a boolean/,
    ],
    [`token_configs = 3`, /token_configs must be an object/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseAaConfig(toml(text), "/etc/aa.toml"),
      (e: unknown) =>
        e instanceof ConfigError && e.code === "invalid" && /\/etc\/aa\.toml/.test(e.message) &&
        re.test(e.message),
    );
  }
});

Deno.test("loadAaConfig() parses aa.example.toml", async () => {
  const cfg = await loadAaConfig(new URL("./aa.example.toml", import.meta.url).pathname);
  assert.equal(cfg.tokenConfigs.kbs?.url, "http://127.0.0.1:8080");
  assert.equal(cfg.eventlog.initPcr, 17);
});

Deno.test("aaConfigFromKbcParams() makes a kbs token config only for cc_kbc", () => {
  assert.equal(
    aaConfigFromKbcParams("cc_kbc::http://kbs:8080").tokenConfigs.kbs?.url,
    "http://kbs:8080",
  );
  assert.equal(aaConfigFromKbcParams("offline_fs_kbc::").tokenConfigs.kbs, undefined);
  assert.equal(aaConfigFromKbcParams(undefined).tokenConfigs.kbs, undefined);
  assert.throws(() => aaConfigFromKbcParams("cc_kbc"), /AA_KBC_PARAMS `cc_kbc`/);
});

Deno.test("parseAaConfig() reads [tpm] device and ak_handle and names bad values", () => {
  const cfg = parseAaConfig(
    { tpm: { device: "unix:///run/swtpm.sock", ak_handle: "0x81010002" } },
    "aa.toml",
  );
  assert.deepEqual(cfg.tpm, { device: "unix:///run/swtpm.sock", akHandle: 0x81010002 });
  assert.throws(() => parseAaConfig({ tpm: { device: "tpm0" } }, "aa.toml"), /TPM device `tpm0`/);
  assert.throws(() => parseAaConfig({ tpm: { ak_handle: "zz" } }, "aa.toml"), /AK handle `zz`/);
});
