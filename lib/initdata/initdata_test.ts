import assert from "node:assert/strict";
import { initDataClaims, initDataDigest, InitDataError, parseInitDataToml } from "./mod.ts";

const TEXT = `version = "0.1.0"
algorithm = "sha256"
[data]
"aa.toml" = '''
[token_configs.kbs]
url = "http://127.0.0.1:8080"
'''
"policy.rego" = '''
package agent_policy
default AllowRequestsFailingPolicy := false
policy_data := {
  "containers": [{"OCI": {"Process": {"Args": ["/bin/sh"]}}}]
}
'''
"other" = "plain"
`;

Deno.test("parseInitDataToml() reads version, algorithm and data", () => {
  const init = parseInitDataToml(TEXT);
  assert.equal(init.version, "0.1.0");
  assert.equal(init.algorithm, "sha256");
  assert.equal(init.data.other, "plain");
});

Deno.test("parseInitDataToml() rejects IANA algorithm names and non-string data", () => {
  assert.throws(() => parseInitDataToml('version="0.1.0"\nalgorithm="sha-384"\n'), InitDataError);
  assert.throws(
    () => parseInitDataToml('version="0.1.0"\nalgorithm="sha384"\n[data]\na=1\n'),
    /data.a must be a string/,
  );
});

Deno.test("initDataDigest() hashes the exact text", () => {
  assert.equal(
    initDataDigest("abc", "sha256").toHex(),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("initDataClaims() parses aa.toml and lifts policy_data into agent_policy_claims", () => {
  const claims = initDataClaims(parseInitDataToml(TEXT));
  assert.deepEqual(claims["aa.toml"], { token_configs: { kbs: { url: "http://127.0.0.1:8080" } } });
  assert.deepEqual(claims.agent_policy_claims, {
    containers: [{ OCI: { Process: { Args: ["/bin/sh"] } } }],
  });
  assert.equal("policy.rego" in claims, false);
  assert.equal(claims.other, "plain");
});
