/** Rego engine benchmarks: KBS default resource policy and the AS EAR default_cpu policy. */

import { type BenchRow, measure } from "./_lib.ts";
import { compile, type EvalOptions } from "../lib/rego/mod.ts";
import { createContainerRequest, genpolicyLikePolicy } from "./fixtures/genpolicy_like.ts";

const TRUSTEE = new URL("../../shared/testdata/trustee/", import.meta.url);

/** Runs the Rego benchmarks. */
export async function bench(): Promise<BenchRow[]> {
  const kbs = compile([{
    path: "default.rego",
    source: await Deno.readTextFile(new URL("kbs/sample_policies/default.rego", TRUSTEE)),
  }]);
  const kbsOpts: EvalOptions = {
    data: { plugin: "resource", "resource-path": ["myrepo", "License", "key"], query: {} },
    input: {
      submods: {
        cpu0: {
          "ear.status": "affirming",
          "ear.veraison.annotated-evidence": { snp: { measurement: "00".repeat(48) } },
        },
      },
    },
  };
  const rvs: Record<string, unknown> = {
    snp_launch_measurement: ["00".repeat(48)],
    snp_bootloader: [3],
    snp_microcode: [209],
    snp_snp_svn: [20],
    snp_tee_svn: [0],
    snp_smt_enabled: true,
    snp_tsme_enabled: false,
    snp_guest_abi_major: 0,
    snp_guest_abi_minor: 31,
    snp_single_socket: false,
    snp_smt_allowed: true,
  };
  const cpu = compile([{
    path: "ear_default_policy_cpu.rego",
    source: await Deno.readTextFile(
      new URL("../lib/rego/testdata/ear_default_policy_cpu.rego", import.meta.url),
    ),
  }], {
    customBuiltins: {
      query_reference_value: (id) => (rvs[id as string] ?? null) as never,
    },
  });
  const cpuOpts: EvalOptions = {
    input: {
      snp: {
        evidence: {
          measurement: "00".repeat(48),
          policy: {
            debug_allowed: false,
            migrate_ma_allowed: false,
            abi_major: 0,
            abi_minor: 31,
            single_socket_required: false,
            smt_allowed: true,
          },
          plat_info: { smt_enabled: true, tsme_enabled: false },
          reported_tcb: { bootloader: 3, microcode: 209, snp: 20, tee: 0 },
        },
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
    },
  };
  const agentText = genpolicyLikePolicy(40);
  const t0 = performance.now();
  const agent = compile([{ path: "policy.rego", source: agentText }], { v0: true });
  const compileMs = performance.now() - t0;
  const agentInput = createContainerRequest(39);
  const allowed = agent.evaluate("data.agent_policy.CreateContainerRequest", { input: agentInput });
  if ((allowed.value as { allowed?: boolean } | undefined)?.allowed !== true) {
    throw new Error("genpolicy-style fixture no longer allows its own request");
  }
  return [
    await measure("rego kbs default.rego data.policy.allow", () => {
      kbs.evaluate("data.policy.allow", kbsOpts);
    }, 20000),
    await measure("rego ear default_cpu trust_claims+extensions", () => {
      cpu.evaluate("data.policy.trust_claims", cpuOpts);
      cpu.evaluate("data.policy.extensions", cpuOpts);
    }, 5000),
    await measure(
      "rego agent genpolicy-style CreateContainerRequest (40 containers, last matches)",
      () => {
        agent.evaluate("data.agent_policy.CreateContainerRequest", { input: agentInput });
      },
      1000,
      `${agentText.split("\n").length} lines; compile ${compileMs.toFixed(0)} ms`,
    ),
  ];
}

if (import.meta.main) {
  for (const row of await bench()) console.log(JSON.stringify(row));
}
