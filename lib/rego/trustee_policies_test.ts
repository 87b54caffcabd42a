/** Trustee's sample policies (KBS resource policies, policy-engine test policies, AS appraisal
 * policies) on the inputs their upstream tests use. */

import assert from "node:assert/strict";
import { compile, type JsonValue } from "./mod.ts";

const TRUSTEE = new URL("../../../shared/testdata/trustee/", import.meta.url);

function load(rel: string | URL): string {
  return Deno.readTextFileSync(rel instanceof URL ? rel : new URL(rel, TRUSTEE));
}

function kbsAllow(policyFile: string, data: JsonValue, input: JsonValue): JsonValue | undefined {
  const p = compile([{ path: policyFile, source: load(policyFile) }]);
  return p.evaluate("data.policy.allow", { data, input }).value;
}

const resource = (path: string[]) => ({ plugin: "resource", "resource-path": path, query: {} });
const sampleClaims = (productId: string, svn: JsonValue = "1") => ({
  submods: { cpu0: { "ear.veraison.annotated-evidence": { sample: { productId, svn } } } },
});
const snpClaims = {
  submods: {
    cpu0: {
      "ear.status": "affirming",
      "ear.veraison.annotated-evidence": { snp: { measurement: "abc" } },
    },
  },
};

Deno.test("kbs default.rego allows resource access only to non-sample TEEs", () => {
  const f = "kbs/sample_policies/default.rego";
  assert.equal(kbsAllow(f, resource(["myrepo", "License", "key"]), snpClaims), true);
  assert.equal(kbsAllow(f, resource(["myrepo", "License", "key"]), sampleClaims("x")), false);
  assert.equal(kbsAllow(f, { plugin: "other", "resource-path": [], query: {} }, snpClaims), false);
});

Deno.test("kbs allow_all.rego allows the resource plugin only", () => {
  const f = "kbs/sample_policies/allow_all.rego";
  assert.equal(kbsAllow(f, resource(["a", "b", "c"]), sampleClaims("x")), true);
  assert.equal(kbsAllow(f, { plugin: "nebula", "resource-path": [], query: {} }, {}), false);
});

Deno.test("kbs deny_all.rego denies everything", () => {
  assert.equal(
    kbsAllow("kbs/sample_policies/deny_all.rego", resource(["a", "b", "c"]), snpClaims),
    false,
  );
});

Deno.test("kbs affirming.rego requires every submod to be affirming", () => {
  const f = "kbs/sample_policies/affirming.rego";
  const sub = (status: string) => ({ "ear.status": status });
  assert.equal(
    kbsAllow(f, resource(["a", "b", "c"]), { submods: { cpu0: sub("affirming") } }),
    true,
  );
  assert.equal(
    kbsAllow(f, resource(["a", "b", "c"]), {
      submods: { cpu0: sub("affirming"), gpu0: sub("warning") },
    }),
    false,
  );
  assert.equal(kbsAllow(f, resource(["a", "b", "c"]), { submods: {} }), false);
});

Deno.test("policy-engine policy_1 and policy_4 match productId against resource-path[1]", () => {
  for (
    const f of [
      "deps/policy-engine/test_data/policy_1.rego",
      "deps/policy-engine/test_data/policy_4.rego",
    ]
  ) {
    assert.equal(
      kbsAllow(f, resource(["my_repo", "Alice", "key"]), sampleClaims("Alice")),
      true,
      f,
    );
    assert.equal(kbsAllow(f, resource(["my_repo", "Bob", "key"]), sampleClaims("Alice")), false, f);
    assert.equal(kbsAllow(f, resource(["my_repo", "Alice"]), sampleClaims("Alice")), false, f);
  }
});

Deno.test("policy-engine policy_2 allows and policy_3 denies", () => {
  const d = resource(["a", "b", "c"]);
  assert.equal(kbsAllow("deps/policy-engine/test_data/policy_2.rego", d, {}), true);
  assert.equal(kbsAllow("deps/policy-engine/test_data/policy_3.rego", d, {}), false);
});

Deno.test("policy-engine policy_5 enforces the minimum SVN per resource", () => {
  const f = "deps/policy-engine/test_data/policy_5.rego";
  assert.equal(kbsAllow(f, resource(["myrepo", "secret", "secret1"]), sampleClaims("x", 2)), true);
  assert.equal(kbsAllow(f, resource(["myrepo", "secret", "secret2"]), sampleClaims("x", 2)), false);
  assert.equal(kbsAllow(f, resource(["myrepo", "secret", "secret3"]), sampleClaims("x", 9)), false);
  assert.equal(kbsAllow(f, resource(["other", "secret", "secret1"]), sampleClaims("x", 9)), false);
});

Deno.test("AS example policies evaluate executables from flattened claims", () => {
  const base = "attestation-service/tests/coco-as/policy/";
  const ex1 = compile([{ path: "example-1.rego", source: load(base + "example-1.rego") }]);
  assert.equal(ex1.evaluate("data.policy.executables", { input: {} }).value, 33);
  assert.equal(
    ex1.evaluate("data.policy.executables", {
      input: {
        "sgx.body.mr_enclave": "8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68",
        "sgx.body.mr_signer": "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e",
      },
    }).value,
    3,
  );
  const ex3 = compile([{ path: "example-3.rego", source: load(base + "example-3.rego") }]);
  const se = {
    "se.version": 256,
    "se.user_data": "00",
    "se.tag": "773780962a7350165054673b6c54235d",
    "se.image_phkh": "92d0aff6eb86719b6b1ea0cb98d2c99ff2ec693df3efff2158f54112f6961508",
    "se.attestation_phkh": "92d0aff6eb86719b6b1ea0cb98d2c99ff2ec693df3efff2158f54112f6961508",
  };
  assert.equal(ex3.evaluate("data.policy.executables", { input: se }).value, 3);
});

Deno.test("AS ear_sample.rego reads reference values from data.reference", () => {
  const p = compile([{
    path: "ear_sample.rego",
    source: load("attestation-service/tests/policy/ear_sample.rego"),
  }]);
  const input = {
    sample: {
      launch_digest: "abc",
      svn: "1",
      platform_version: { major: 1, minor: 2 },
      debug: false,
    },
  };
  const data = {
    reference: { launch_digest: ["abc"], svn: ["1"], major_version: 1, minimum_minor_version: 1 },
  };
  const claims = p.evaluate("data.policy.trust_claims", { input, data }).value as Record<
    string,
    number
  >;
  assert.equal(claims.executables, 3);
  assert.equal(claims.hardware, 2);
  const none = p.evaluate("data.policy.trust_claims", { input }).value as Record<string, number>;
  assert.equal(none.executables, 33);
  assert.equal(none.hardware, 97);
});

const rvs: Record<string, JsonValue> = {
  launch_digest: ["abc"],
  svn: ["1"],
  major_version: 1,
  minimum_minor_version: 1,
};

function defaultCpu() {
  return compile(
    [{
      path: "ear_default_policy_cpu.rego",
      source: load(new URL("./testdata/ear_default_policy_cpu.rego", import.meta.url)),
    }],
    { customBuiltins: { query_reference_value: (id) => rvs[id as string] ?? null } },
  );
}

Deno.test("AS default_cpu policy appraises sample evidence with query_reference_value", () => {
  const p = defaultCpu();
  const input = {
    sample: {
      launch_digest: "abc",
      svn: "1",
      platform_version: { major: 1, minor: 2 },
      debug: false,
    },
    init_data_claims: {
      agent_policy_claims: {
        containers: [{
          OCI: {
            Annotations: { "io.kubernetes.cri.image-name": "nginx" },
            Process: { User: { UID: 0 } },
          },
        }],
      },
    },
  };
  assert.deepEqual(p.evaluate("data.policy.trust_claims", { input }).value, {
    "configuration": 2,
    "executables": 3,
    "file-system": 0,
    "hardware": 2,
    "instance-identity": 0,
    "runtime-opaque": 0,
    "sourced-data": 0,
    "storage-opaque": 0,
  });
  assert.deepEqual(p.evaluate("data.policy.extensions", { input }).value, [{
    name: "ear.trustee.identifiers",
    key: -18,
    value: { validated: { container_images: ["nginx"], container_uids: [0] } },
  }]);
});

Deno.test("AS default_cpu policy is contraindicated without matching reference values", () => {
  const p = defaultCpu();
  const input = {
    sample: {
      launch_digest: "zzz",
      svn: "9",
      platform_version: { major: 1, minor: 0 },
      debug: false,
    },
  };
  const claims = p.evaluate("data.policy.trust_claims", { input }).value as Record<string, number>;
  assert.equal(claims.executables, 33);
  assert.equal(claims.hardware, 97);
  assert.equal(claims.configuration, 2);
  assert.deepEqual(p.evaluate("data.policy.extensions", { input }).value, [{
    name: "ear.trustee.identifiers",
    key: -18,
    value: { validated: {} },
  }]);
});

Deno.test("AS default_cpu policy uses the SNP else-branch for configuration", () => {
  const p = defaultCpu();
  const input = {
    snp: {
      evidence: {
        measurement: "m",
        policy: { debug_allowed: false, migrate_ma_allowed: false, abi_major: 0, abi_minor: 31 },
        plat_info: { smt_enabled: true, tsme_enabled: false },
        reported_tcb: { bootloader: 1, microcode: 2, snp: 3, tee: 4 },
      },
    },
  };
  const claims = p.evaluate("data.policy.trust_claims", { input }).value as Record<string, number>;
  assert.equal(claims.configuration, 3);
  assert.equal(claims.executables, 33);
});

Deno.test("AS ear_no_rv_policy_cpu.rego compiles and yields trust claims", () => {
  const p = compile([{
    path: "ear_no_rv_policy_cpu.rego",
    source: load("attestation-service/tests/coco-as/policy/opa/ear_no_rv_policy_cpu.rego"),
  }]);
  const v = p.evaluate("data.policy.trust_claims", { input: { sample: { debug: false } } }).value;
  assert.equal(typeof v, "object");
});
