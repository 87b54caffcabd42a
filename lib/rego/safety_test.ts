import assert from "node:assert/strict";
import { compile, RegoError } from "./mod.ts";

const mod = (source: string) => [{ path: "policy.rego", source }];

function throwsRego(f: () => unknown, code: string, msg: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof RegoError, `not a RegoError: ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, msg);
    return true;
  });
}

/** Input whose own keys are `__proto__` and `constructor` (JSON.parse defines them). */
const hostile = JSON.parse(
  '{"__proto__": {"admin": true}, "constructor": {"prototype": {"admin": true}}, "a": 1}',
);

function assertNotPolluted(): void {
  const probe = {} as Record<string, unknown>;
  assert.equal(probe.admin, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, "admin"), false);
}

const policy = compile(mod(`package p
import rego.v1

literal := {"__proto__": {"admin": true}, "constructor": 1}
get_proto := object.get(input, "__proto__", "missing")
get_ctor := object.get(input, ["constructor", "prototype", "admin"], "missing")
get_absent := object.get({}, "__proto__", "missing")
get_absent_ctor := object.get({"a": 1}, "constructor", "missing")
has_proto if input.__proto__.admin
filtered := json.filter(input, ["__proto__/admin", "constructor"])
removed := json.remove(input, ["__proto__"])
patched := json.patch({}, [
  {"op": "add", "path": "/__proto__", "value": {"admin": true}},
  {"op": "add", "path": "/constructor", "value": 2},
  {"op": "copy", "from": "/__proto__", "path": "/copy"},
])
walked := [p | walk(input, [p, _])]
compr := {k: v | some k, v in input}
set_compr := {k | some k, _ in input}
keys := object.keys(input)
union := object.union(input, {"__proto__": {"extra": 1}})
yaml_doc := yaml.unmarshal("__proto__: {admin: true}\\nconstructor: 1")
unmarshalled := json.unmarshal("{\\"__proto__\\": {\\"admin\\": true}}")
ctor_unit := units.parse("1constructor")
`));

Deno.test("object literals keep __proto__ and constructor as own keys", () => {
  const v = policy.evaluate("data.p.literal").value as Record<string, unknown>;
  assert.ok(Object.hasOwn(v, "__proto__"));
  assert.deepEqual(v["__proto__"], { admin: true });
  assert.equal(v["constructor"], 1);
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assertNotPolluted();
});

Deno.test("object.get reads __proto__ / constructor as data, never the JS prototype", () => {
  const e = (r: string) => policy.evaluate(`data.p.${r}`, { input: hostile }).value;
  assert.deepEqual(e("get_proto"), { admin: true });
  assert.equal(e("get_ctor"), true);
  assert.equal(e("get_absent"), "missing");
  assert.equal(e("get_absent_ctor"), "missing");
  assert.equal(e("has_proto"), true);
  assert.equal(policy.evaluate("data.p.has_proto", { input: { a: 1 } }).value, undefined);
});

Deno.test("json.filter, json.remove and json.patch treat __proto__ paths as keys", () => {
  const e = (r: string) => policy.evaluate(`data.p.${r}`, { input: hostile }).value;
  const filtered = e("filtered") as Record<string, unknown>;
  assert.deepEqual(Object.keys(filtered).sort(), ["__proto__", "constructor"]);
  assert.deepEqual(filtered["__proto__"], { admin: true });
  assert.deepEqual(Object.keys(e("removed") as object).sort(), ["a", "constructor"]);
  const patched = e("patched") as Record<string, unknown>;
  assert.deepEqual(Object.keys(patched).sort(), ["__proto__", "constructor", "copy"]);
  assert.deepEqual(patched["copy"], { admin: true });
  assertNotPolluted();
});

Deno.test("walk and comprehensions enumerate __proto__ / constructor like other keys", () => {
  const e = (r: string) => policy.evaluate(`data.p.${r}`, { input: hostile }).value;
  assert.deepEqual(e("walked"), [
    [],
    ["__proto__"],
    ["__proto__", "admin"],
    ["a"],
    ["constructor"],
    ["constructor", "prototype"],
    ["constructor", "prototype", "admin"],
  ]);
  const compr = e("compr") as Record<string, unknown>;
  assert.ok(Object.hasOwn(compr, "__proto__"));
  assert.deepEqual(compr["constructor"], { prototype: { admin: true } });
  assert.deepEqual(e("set_compr"), ["__proto__", "a", "constructor"]);
  assert.deepEqual(e("keys"), ["__proto__", "a", "constructor"]);
  assert.deepEqual((e("union") as Record<string, unknown>)["__proto__"], { admin: true, extra: 1 });
  assertNotPolluted();
});

Deno.test("decoders and lookup tables do not resolve inherited JS properties", () => {
  const y = policy.evaluate("data.p.yaml_doc").value as Record<string, unknown>;
  assert.ok(Object.hasOwn(y, "__proto__"));
  assert.equal(y["constructor"], 1);
  const j = policy.evaluate("data.p.unmarshalled").value as Record<string, unknown>;
  assert.ok(Object.hasOwn(j, "__proto__"));
  assert.equal(policy.evaluate("data.p.ctor_unit").value, undefined);
  assertNotPolluted();
});

Deno.test("data documents with __proto__ keys are ordinary data", () => {
  const p = compile(mod("package p\nx := data.cfg.__proto__.y\nctor := data.cfg.constructor"));
  const data = JSON.parse('{"cfg": {"__proto__": {"y": 7}, "constructor": 3}}');
  assert.equal(p.evaluate("data.p.x", { data }).value, 7);
  assert.equal(p.evaluate("data.p.ctor", { data }).value, 3);
  assert.equal(p.evaluate("data.p.ctor", { data: { cfg: {} } }).value, undefined);
});

Deno.test("deeply nested input JSON gives a limit error, not a crash", () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = { a: deep };
  const p = compile(mod("package p\nn := count(input)"));
  throwsRego(() => p.evaluate("data.p.n", { input: deep as never }), "limit", /nesting depth/);
  // The same policy still works afterwards.
  assert.equal(p.evaluate("data.p.n", { input: { a: 1 } }).value, 1);
});

Deno.test("deeply nested comprehensions give a limit error at compile or evaluation", () => {
  const depth = 20_000;
  const src = `package p\nx := ${"[y | y := ".repeat(depth)}1${"]".repeat(depth)}`;
  throwsRego(() => compile(mod(src)), "limit", /nesting depth|nested too deeply/);
  const shallow = compile(mod(`package p\nx := ${"[y | y := ".repeat(3)}1${"]".repeat(3)}`));
  assert.deepEqual(shallow.evaluate("data.p.x").value, [[[1]]]);
});

Deno.test("deeply nested query text gives a limit error", () => {
  const p = compile(mod("package p\nx := 1"));
  const q = `${"[".repeat(50_000)}1${"]".repeat(50_000)}`;
  // Either the parser's own nesting limit or the JS stack, whichever comes first.
  throwsRego(() => p.evaluate(q), "limit", /nested too deeply|exceeded the maximum nesting depth/);
  throwsRego(
    () => p.evaluate(`${"[".repeat(301)}1${"]".repeat(301)}`),
    "limit",
    /^<query>:1:301: expression nested too deeply \(more than 300 levels\)$/,
  );
});

Deno.test("walk over a deeply nested value gives a limit error", () => {
  const p = compile(mod("package p\nn := count([1 | walk(json.unmarshal(input.s), _)])"));
  const s = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
  let err: unknown;
  try {
    p.evaluate("data.p.n", { input: { s } });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof RegoError && err.code === "limit", `got ${err}`);
});

Deno.test("builtin RangeErrors are builtin errors, not depth limits", () => {
  const p = compile(mod('package p\nc := sprintf("%c", [99999999])\nt := time.format(1e30)'));
  assert.equal(p.evaluate("data.p.c").value, undefined);
  assert.equal(p.evaluate("data.p.t").value, undefined);
  throwsRego(() => p.evaluate("data.p.c", { strict: true }), "eval", /code point/);
  throwsRego(() => p.evaluate("data.p.t", { strict: true }), "eval", /out of the supported range/);
});

Deno.test("a rule body too long for the JS stack gives a limit error", () => {
  const n = 20_000;
  const body = Array.from({ length: n }, (_, i) => i === 0 ? "x0 := 1" : `x${i} := x${i - 1} + 1`);
  const p = compile(mod(`package p\nr := x${n - 1} if {\n  ${body.join("\n  ")}\n}`));
  throwsRego(
    () => p.evaluate("data.p.r"),
    "limit",
    /Evaluation exceeded the maximum nesting depth/,
  );
  const short = compile(mod(`package p\nr := x9 if {\n  ${body.slice(0, 10).join("\n  ")}\n}`));
  assert.equal(short.evaluate("data.p.r").value, 10);
});
