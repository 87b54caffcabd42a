import assert from "node:assert/strict";
import { ConfigError, configFormat, inConfig, loadConfigFile, parseConfigText } from "./mod.ts";

Deno.test("loadConfigFile() parses TOML and names the file when it cannot", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.toml`, '[http_server]\nsockets = ["127.0.0.1:8080"]\n');
    assert.deepEqual(JSON.parse(JSON.stringify(await loadConfigFile(`${dir}/a.toml`))), {
      http_server: { sockets: ["127.0.0.1:8080"] },
    });
    await Deno.writeTextFile(`${dir}/b.toml`, "[http_server\n");
    await assert.rejects(
      loadConfigFile(`${dir}/b.toml`),
      (e) => e instanceof ConfigError && e.code === "parse" && e.message.includes(`${dir}/b.toml`),
    );
    await assert.rejects(
      loadConfigFile(`${dir}/missing.toml`),
      (e) => e instanceof ConfigError && e.code === "read",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configFormat() picks the parser by extension", async () => {
  assert.equal(configFormat("a.json"), "json");
  assert.equal(configFormat("a.yml"), "yaml");
  assert.equal(configFormat("a.conf"), "toml");
  assert.deepEqual(await parseConfigText("a: 1", "yaml", "x"), { a: 1 });
});

Deno.test("inConfig() turns a field TypeError into a ConfigError naming the file", () => {
  assert.throws(
    () =>
      inConfig("kbs.toml", () => {
        throw new TypeError("http_server.sockets must be an array");
      }),
    (e) =>
      e instanceof ConfigError &&
      e.message === "Invalid config file kbs.toml: http_server.sockets must be an array",
  );
});
