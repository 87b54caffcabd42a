import assert from "node:assert/strict";
import { ConfigError } from "@coco/lib/config";
import { loadGuestConfig, parseGuestConfig } from "./guest_config.ts";

Deno.test("loadGuestConfig() parses guest.example.toml", async () => {
  const cfg = await loadGuestConfig(new URL("../guest.example.toml", import.meta.url).pathname);
  assert.equal(cfg.tee, "sample");
  assert.equal(
    cfg.aa.socket,
    "unix:///run/confidential-containers/attestation-agent/attestation-agent.sock",
  );
  assert.equal(cfg.aa.tokenConfigs.kbs?.url, "http://127.0.0.1:8080");
  assert.deepEqual(cfg.cdh.kbc, { name: "cc_kbc", url: "http://127.0.0.1:8080" });
  assert.equal(cfg.cdh.aaSocket, cfg.aa.socket);
  assert.deepEqual(cfg.apiServerRest, { bind: "127.0.0.1:8006", features: "all" });
});

Deno.test("parseGuestConfig() points the CDH at the AA socket unless [cdh.aa] says otherwise", () => {
  const base = { aa: { socket: "unix:///tmp/aa.sock" }, cdh: { kbc: { name: "offline_fs_kbc" } } };
  assert.equal(parseGuestConfig(base, "g.toml").cdh.aaSocket, "unix:///tmp/aa.sock");
  const own = { ...base, cdh: { ...base.cdh, aa: { aa_socket: "unix:///x.sock" } } };
  assert.equal(parseGuestConfig(own, "g.toml").cdh.aaSocket, "unix:///x.sock");
});

Deno.test("parseGuestConfig() errors name the section, key and file", () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ cdh: {} }, /g\.toml \[cdh\].*missing required section \[kbc\]/],
    [
      { aa: { eventlog_config: { init_pcr: "x" } }, cdh: { kbc: { name: "offline_fs_kbc" } } },
      /g\.toml \[aa\].*init_pcr must be a number/,
    ],
    [
      { cdh: { kbc: { name: "offline_fs_kbc" } }, api_server_rest: { features: "some" } },
      /g\.toml.*Invalid features `some`/,
    ],
    [
      { cdh: { kbc: { name: "offline_fs_kbc" } }, api_server_rest: { bind: "nope" } },
      /g\.toml.*Invalid bind address `nope`/,
    ],
    [{ tee: 3, cdh: { kbc: { name: "offline_fs_kbc" } } }, /g\.toml.*tee must be a string/],
  ];
  for (const [input, re] of cases) {
    assert.throws(
      () => parseGuestConfig(input, "g.toml"),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
    );
  }
});
