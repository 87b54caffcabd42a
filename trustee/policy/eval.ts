/**
 * `trustee policy eval`: evaluate Rego like `opa eval`, against one input or a batch of recorded
 * requests (one compiled policy, many cases). The logic lives here, independent of the CLI, so it
 * can be tested without spawning processes.
 *
 * @module
 */
import { compile, type CompiledPolicy, type EvalLimits, RegoError } from "@coco/lib/rego";
import type { RegoModule } from "@coco/lib/rego";
import type { JsonValue } from "@coco/lib/json";
import { isJsonObject } from "@coco/lib/json";
import { CodedError } from "@coco/lib/errors";
import { parse as parseYaml } from "yaml";

/** Why `policy eval` failed before or while evaluating. */
export class PolicyEvalError extends CodedError<"read" | "parse" | "eval" | "usage"> {}

/** Options of one `policy eval` run. */
export interface PolicyEvalRequest {
  /** Rego module files (or directories holding `.rego` files). */
  policies: string[];
  /** JSON/YAML data documents, merged into `data` in order; `.rego` files are treated as modules. */
  data: string[];
  /** JSON/YAML input document, `-` for stdin. */
  input?: string;
  /** Parse Rego v0 syntax (kata genpolicy output). */
  v0: boolean;
  /** JSON object `name → value` served by `query_reference_value(name)`. */
  referenceValues?: string;
  /** Explain the result (which rule bodies failed, at which expression). */
  explain: boolean;
  limits: EvalLimits;
}

/** Where output goes; the CLI passes stdout/stdin, tests pass memory buffers. */
export interface EvalIo {
  write(line: string): void;
  readStdin(): Promise<string>;
  readFile(path: string): Promise<string>;
}

/** Deno-backed I/O for the CLI. */
export const denoIo: EvalIo = {
  write: (line) => console.log(line),
  readStdin: async () => await new Response(Deno.stdin.readable).text(),
  readFile: (path) => Deno.readTextFile(path),
};

async function read(io: EvalIo, path: string): Promise<string> {
  try {
    return path === "-" ? await io.readStdin() : await io.readFile(path);
  } catch (err) {
    throw new PolicyEvalError("read", `Cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function parseDocument(path: string, text: string): JsonValue {
  try {
    if (/\.ya?ml$/i.test(path)) return parseYaml(text) as JsonValue;
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new PolicyEvalError("parse", `Cannot parse ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Deep-merges `b` into `a` as `opa eval -d` does; conflicting leaves are an error. */
function mergeData(a: JsonValue, b: JsonValue, path: string, where: string): JsonValue {
  if (!isJsonObject(a) || !isJsonObject(b)) {
    throw new PolicyEvalError("parse", `Conflicting data at ${where || "data"} from ${path}`);
  }
  const out: Record<string, JsonValue> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = Object.hasOwn(out, k) ? out[k] : undefined;
    out[k] = prev === undefined ? v : mergeData(prev, v, path, `${where}.${k}`);
  }
  return out;
}

async function regoFiles(path: string): Promise<string[]> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    throw new PolicyEvalError("read", `Cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!info.isDirectory) return [path];
  const out: string[] = [];
  for await (const e of Deno.readDir(path)) {
    const p = `${path}/${e.name}`;
    if (e.isDirectory) out.push(...await regoFiles(p));
    else if (e.name.endsWith(".rego")) out.push(p);
  }
  return out.sort();
}

/** A compiled policy with its data document, ready for many queries. */
export interface PreparedEval {
  policy: CompiledPolicy;
  data: JsonValue;
  request: PolicyEvalRequest;
}

/** Reads and compiles the modules and data once. */
export async function prepareEval(req: PolicyEvalRequest, io: EvalIo): Promise<PreparedEval> {
  const modules: RegoModule[] = [];
  let data: JsonValue = {};
  const dataFiles: string[] = [];
  for (const p of req.policies) {
    for (const f of await regoFiles(p)) modules.push({ path: f, source: await read(io, f) });
  }
  for (const d of req.data) {
    if (d.endsWith(".rego")) modules.push({ path: d, source: await read(io, d) });
    else dataFiles.push(d);
  }
  if (modules.length === 0) {
    throw new PolicyEvalError("usage", "No policy given: pass at least one --policy FILE");
  }
  for (const d of dataFiles) data = mergeData(data, parseDocument(d, await read(io, d)), d, "");
  let refValues: Record<string, JsonValue> = {};
  if (req.referenceValues) {
    const rv = parseDocument(req.referenceValues, await read(io, req.referenceValues));
    if (!isJsonObject(rv)) {
      throw new PolicyEvalError("parse", `${req.referenceValues} must hold a JSON object`);
    }
    refValues = rv;
  }
  let policy: CompiledPolicy;
  try {
    policy = compile(modules, {
      v0: req.v0,
      customBuiltins: {
        query_reference_value: (id) =>
          typeof id === "string" && Object.hasOwn(refValues, id) ? refValues[id]! : null,
      },
    });
  } catch (err) {
    throw new PolicyEvalError("parse", (err as Error).message, { cause: err });
  }
  return { policy, data, request: req };
}

/** The outcome of one query, shaped for JSON output. */
export interface CaseOutcome {
  /** `null` when the query is undefined. */
  result?: JsonValue;
  error?: string;
  explanation?: JsonValue;
}

/** Evaluates one query against `input`; evaluation errors become `{error}`. */
export function evalCase(
  p: PreparedEval,
  query: string,
  input: JsonValue | undefined,
): CaseOutcome {
  try {
    const r = p.policy.evaluate(query, {
      data: p.data,
      limits: p.request.limits,
      explain: p.request.explain,
      ...(input !== undefined ? { input } : {}),
    });
    const out: CaseOutcome = { result: r.value ?? null };
    if (r.explanation) out.explanation = r.explanation as unknown as JsonValue;
    return out;
  } catch (err) {
    return { error: err instanceof RegoError ? err.message : String(err) };
  }
}

/** Single-query mode: prints `{"result": …}` (plus `explanation`); exit code 0, or 1 on error. */
export async function runSingle(
  req: PolicyEvalRequest,
  query: string,
  io: EvalIo,
): Promise<number> {
  const p = await prepareEval(req, io);
  const input = req.input === undefined
    ? undefined
    : parseDocument(req.input, await read(io, req.input));
  const out = evalCase(p, query, input);
  if (out.error !== undefined) throw new PolicyEvalError("eval", out.error);
  io.write(JSON.stringify(out, null, 2));
  return 0;
}

/**
 * Batch mode: FILE holds one JSON object per line, `{"query": "...", "input": {...}}`; each line
 * prints `{"result": …}` or `{"error": "…"}`. Blank lines are skipped. Exit code 0 when every
 * case evaluated, 1 when any case had an error (all cases are still printed).
 */
export async function runBatch(
  req: PolicyEvalRequest,
  batchFile: string,
  defaultQuery: string | undefined,
  io: EvalIo,
): Promise<number> {
  const p = await prepareEval(req, io);
  const text = await read(io, batchFile);
  let failed = false;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const out = batchCase(p, line, i + 1, defaultQuery);
    failed ||= out.error !== undefined;
    io.write(JSON.stringify(out));
  }
  return failed ? 1 : 0;
}

function batchCase(
  p: PreparedEval,
  line: string,
  lineNo: number,
  defaultQuery: string | undefined,
): CaseOutcome {
  let c: JsonValue;
  try {
    c = JSON.parse(line) as JsonValue;
  } catch (err) {
    return { error: `line ${lineNo}: invalid JSON: ${(err as Error).message}` };
  }
  if (!isJsonObject(c)) return { error: `line ${lineNo}: expected a JSON object` };
  const query = typeof c.query === "string" ? c.query : defaultQuery;
  if (query === undefined) return { error: `line ${lineNo}: no "query" (and no QUERY argument)` };
  return evalCase(p, query, c.input);
}
