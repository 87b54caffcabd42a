/**
 * `trustee policy …` commands: `eval` evaluates Rego like `opa eval`, one query or a batch of
 * recorded requests, with optional denial explanations.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { denoIo, type PolicyEvalRequest, runBatch, runSingle } from "./eval.ts";

const collect = (v: string, prev: string[]) => [...prev, v];

function positiveInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer`);
  return n;
}

/** The `policy` command group. */
export function policyCommand(): Command {
  const policy = new Command("policy").description("evaluate and test Rego policies offline");
  policy.command("eval")
    .description(
      'evaluate QUERY (e.g. data.policy.allow) and print {"result": …} as JSON; with --batch, one JSON line per case',
    )
    .argument("[query]", "Rego query or rule reference")
    .option("-p, --policy <file>", "Rego module file or directory (repeatable)", collect, [])
    .option(
      "-d, --data <file>",
      "JSON/YAML data document or .rego module (repeatable)",
      collect,
      [],
    )
    .option("-i, --input <file>", "JSON/YAML input document (- for stdin)")
    .option("--v0", "parse Rego v0 syntax (kata genpolicy output)", false)
    .option(
      "--batch <file>",
      'JSON lines {"query": …, "input": …} evaluated against one compiled policy',
    )
    .option(
      "--explain",
      "explain the result: rule bodies tried and the expression that failed",
      false,
    )
    .option("--reference-values <file>", "JSON object served by query_reference_value(name)")
    .option("--max-steps <n>", "evaluation step limit per query")
    .option("--timeout-ms <n>", "evaluation time limit per query")
    .action(async (query, o) => {
      const limits: PolicyEvalRequest["limits"] = {};
      const steps = positiveInt("max-steps", o.maxSteps);
      const timeout = positiveInt("timeout-ms", o.timeoutMs);
      if (steps !== undefined) limits.maxSteps = steps;
      if (timeout !== undefined) limits.timeoutMs = timeout;
      const req: PolicyEvalRequest = {
        policies: o.policy,
        data: o.data,
        v0: o.v0,
        explain: o.explain,
        limits,
        ...(o.input !== undefined ? { input: o.input } : {}),
        ...(o.referenceValues !== undefined ? { referenceValues: o.referenceValues } : {}),
      };
      let code: number;
      if (o.batch !== undefined) code = await runBatch(req, o.batch, query, denoIo);
      else if (query === undefined) throw new Error("missing QUERY (or use --batch FILE)");
      else code = await runSingle(req, query, denoIo);
      if (code !== 0) Deno.exitCode = code;
    });
  return policy;
}
