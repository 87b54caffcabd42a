/**
 * Runs the regorus interpreter conformance cases (YAML) against this engine, the way the
 * regorus test harness does: modules named `rego_<i>`, v0 syntax except in `bindings.yaml`,
 * strict builtin errors unless `strict: false`, one result per solution (bindings, or the
 * expression values), `many!` inputs/results, `set!` / `object!` encodings, error messages
 * matched as substrings. Cases listed in `conformance_skip.json` are skipped with a reason.
 *
 * Usage: `deno run -A lib/rego/conformance.ts` — prints per-folder counts and a last line
 * `N passed, N failed, N skipped`.
 */

import { parseDocument } from "yaml";
import { RegoError } from "./errors.ts";
import { compile, type Policy, type RawResult } from "./policy.ts";
import {
  equal,
  fromJson,
  type JsonValue,
  ObjectValue,
  SetValue,
  toJson,
  type Value,
} from "./value.ts";

/** Where the cases live. */
export const CASES_DIR = new URL(
  "../../../shared/testdata/regorus/interpreter/cases/",
  import.meta.url,
);

/** One case as written in YAML. */
export interface Case {
  note: string;
  data?: unknown;
  input?: unknown;
  modules: string[];
  query: string;
  want_result?: unknown;
  want_prints?: string[];
  no_result?: boolean;
  skip?: boolean;
  error?: string;
  want_error?: string;
  strict?: boolean;
  /** Set by the runner: v0 syntax for every file except bindings.yaml (as regorus). */
  v0?: boolean;
}

/** Outcome of one case. */
export interface Outcome {
  status: "pass" | "fail" | "skip";
  message?: string;
}

/** Skip list: file (relative to CASES_DIR) → note → reason. */
export type SkipList = Record<string, Record<string, string>>;

/** Lists YAML files relative to CASES_DIR, sorted. */
export function caseFiles(dir = CASES_DIR, prefix = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(new URL(prefix, dir))) {
    if (e.isDirectory) out.push(...caseFiles(dir, `${prefix}${e.name}/`));
    else if (e.name.endsWith(".yaml")) out.push(prefix + e.name);
  }
  return out.sort();
}

/** Loads the cases of one file. */
export function loadCases(file: string): Case[] {
  // One file indents a multi-line flow sequence less than the yaml package allows (serde_yaml
  // accepts it); such sequences are joined onto one line before parsing.
  const text = Deno.readTextFileSync(new URL(file, CASES_DIR)).replace(
    /: \[\n([^\]]*)\n\s*\]/g,
    (_m, body: string) => ": [" + body.split("\n").map((l) => l.trim()).join(" ") + "]",
  );
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) throw doc.errors[0];
  // Maps keep non-string keys (`null:`, `1:`) so expected objects can have them.
  const top = doc.toJS({ mapAsMap: true }) as Map<unknown, unknown>;
  const cases = (top.get("cases") ?? []) as Map<unknown, unknown>[];
  return cases.map((m) => {
    const c: Record<string, unknown> = {};
    for (const [k, v] of m) {
      c[String(k)] = k === "want_result" ? v : plain(v);
    }
    return c as unknown as Case;
  });
}

/** Converts Maps from the YAML reader to plain objects (string keys). */
function plain(v: unknown): unknown {
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[String(k)] = plain(x);
    return o;
  }
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** Loads the skip list beside this file. */
export function loadSkips(): SkipList {
  return JSON.parse(Deno.readTextFileSync(new URL("./conformance_skip.json", import.meta.url)));
}

/** Converts an expected value with regorus' special encodings to a Rego value. */
export function expected(v: unknown): Value | undefined {
  if (v === "#undefined") return undefined;
  if (Array.isArray(v)) return v.map((x) => expected(x) ?? null);
  if (v instanceof Map) {
    if (v.size === 1 && v.has("set!") && Array.isArray(v.get("set!"))) {
      return new SetValue((v.get("set!") as unknown[]).map((x) => expected(x) ?? null));
    }
    if (v.size === 1 && v.has("object!") && Array.isArray(v.get("object!"))) {
      const out = new ObjectValue();
      for (const e of v.get("object!") as Map<string, unknown>[]) {
        out.set(expected(e.get("key")) ?? null, expected(e.get("value")) ?? null);
      }
      return out;
    }
    if (v.size === 1 && v.has("many!")) return expected(v.get("many!"));
    const out = new ObjectValue();
    for (const [k, x] of v) {
      const ev = expected(x);
      if (ev !== undefined) out.set(expected(k) ?? null, ev);
    }
    return out;
  }
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === "set!" && Array.isArray(o["set!"])) {
      return new SetValue((o["set!"] as unknown[]).map((x) => expected(x) ?? null));
    }
    if (keys.length === 1 && keys[0] === "object!" && Array.isArray(o["object!"])) {
      const out = new ObjectValue();
      for (const e of o["object!"] as { key: unknown; value: unknown }[]) {
        out.set(expected(e.key) ?? null, expected(e.value) ?? null);
      }
      return out;
    }
    const out = new ObjectValue();
    for (const k of keys) {
      const x = expected(o[k]);
      if (x !== undefined) out.set(k, x);
    }
    return out;
  }
  return fromJson(v);
}

function many(v: unknown): unknown[] | undefined {
  if (v instanceof Map) {
    const m = v.get("many!");
    return Array.isArray(m) ? m : undefined;
  }
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const m = (v as Record<string, unknown>)["many!"];
    if (Array.isArray(m)) return m;
  }
  return undefined;
}

function shape(results: RawResult[]): Value[] {
  const out: Value[] = [];
  if (results.length === 1) {
    const r = results[0]!;
    if (r.bindings.size > 0) out.push(new ObjectValue(r.bindings.entries()));
    else out.push(...r.expressions);
  } else {
    for (const r of results) {
      out.push(r.bindings.size > 0 ? new ObjectValue(r.bindings.entries()) : r.expressions);
    }
  }
  return out;
}

function show(v: Value[]): string {
  return JSON.stringify(v.map(toJson));
}

/** Runs one case. */
export function runCase(c: Case): Outcome {
  if (c.skip) return { status: "skip", message: "skip: true in the case file" };
  const wantError = c.error ?? c.want_error;
  const got: Value[] = [];
  let prints: string[] = [];
  try {
    const policy = compile(
      c.modules.map((source, i) => ({ path: `rego_${i}`, source })),
      { v0: c.v0 ?? true },
    ) as Policy;
    const inputs = c.input === undefined ? [undefined] : many(c.input) ?? [c.input];
    for (const input of inputs) {
      const opts: { input?: JsonValue; data?: JsonValue; strict: boolean } = {
        strict: c.strict ?? true,
      };
      if (input !== undefined) opts.input = input as JsonValue;
      if (c.data !== undefined && c.data !== null) opts.data = c.data as JsonValue;
      const r = policy.queryRaw(c.query, opts);
      got.push(...shape(r.results));
      prints = [...prints, ...r.prints];
    }
  } catch (e) {
    if (!(e instanceof RegoError)) {
      return { status: "fail", message: `unexpected ${e instanceof Error ? e.stack : e}` };
    }
    if (wantError === undefined) {
      return { status: "fail", message: `unexpected error: ${e.message}` };
    }
    if (!e.message.includes(wantError)) {
      return {
        status: "fail",
        message: `error ${JSON.stringify(e.message)} lacks ${JSON.stringify(wantError)}`,
      };
    }
    return { status: "pass" };
  }
  if (wantError !== undefined) {
    return { status: "fail", message: `expected error ${wantError}, got ${show(got)}` };
  }
  if (c.want_result === undefined) {
    if (c.no_result && got.length > 0) {
      return { status: "fail", message: `expected no result, got ${show(got)}` };
    }
    return { status: "pass" };
  }
  const want = (many(c.want_result) ?? [c.want_result]).map((x) => expected(x) ?? null);
  if (got.length !== want.length || !got.every((g, i) => equal(g, want[i]!))) {
    return { status: "fail", message: `want ${show(want)}\n got ${show(got)}` };
  }
  if (c.want_prints && JSON.stringify(c.want_prints) !== JSON.stringify(prints)) {
    return {
      status: "fail",
      message: `want prints ${JSON.stringify(c.want_prints)}\n got ${JSON.stringify(prints)}`,
    };
  }
  return { status: "pass" };
}

/** Runs every case; returns per-folder counts. */
export function runAll(
  onFail?: (file: string, note: string, msg: string) => void,
): Map<string, { pass: number; fail: number; skip: number }> {
  const skips = loadSkips();
  const counts = new Map<string, { pass: number; fail: number; skip: number }>();
  for (const file of caseFiles()) {
    const folder = file.includes("/") ? file.slice(0, file.lastIndexOf("/")) : ".";
    const c = counts.get(folder) ?? { pass: 0, fail: 0, skip: 0 };
    counts.set(folder, c);
    for (const kase of loadCases(file)) {
      kase.v0 = !file.includes("bindings.yaml");
      const reason = skips[file]?.[kase.note];
      const o: Outcome = reason ? { status: "skip", message: reason } : runCase(kase);
      c[o.status]++;
      if (o.status === "fail") onFail?.(file, kase.note, o.message ?? "");
    }
  }
  return counts;
}

if (import.meta.main) {
  const verbose = Deno.args.includes("-v");
  const counts = runAll((file, note, msg) => {
    if (verbose) console.log(`FAIL ${file} :: ${note}\n  ${msg.slice(0, 600)}`);
  });
  let p = 0, f = 0, s = 0;
  for (const [folder, c] of [...counts].sort()) {
    console.log(`${folder.padEnd(28)} ${c.pass} passed, ${c.fail} failed, ${c.skip} skipped`);
    p += c.pass;
    f += c.fail;
    s += c.skip;
  }
  console.log(`${p} passed, ${f} failed, ${s} skipped`);
}
