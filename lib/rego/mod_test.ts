import assert from "node:assert/strict";
import { checkSyntax, compile, RegoError } from "./mod.ts";

const mod = (source: string, path = "policy.rego") => [{ path, source }];

function throwsRego(f: () => unknown, code: string, msg: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof RegoError, `not a RegoError: ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, msg);
    return true;
  });
}

Deno.test("compile() rejects a syntax error naming file:line:col", () => {
  throwsRego(
    () => compile(mod("package p\n\nallow if {\n  x := \n}", "a.rego")),
    "parse",
    /^a\.rego:5:1: /,
  );
});

Deno.test("compile() rejects a call to an unknown function", () => {
  throwsRego(
    () => compile(mod("package p\nallow if nope(1)")),
    "compile",
    /could not find function nope/,
  );
});

Deno.test("compile() rejects v0 rule bodies in v1 mode and accepts them with v0", () => {
  throwsRego(() => compile(mod("package p\nallow { true }")), "parse", /`if` keyword is required/);
  const p = compile(mod("package p\nallow { true }"), { v0: true });
  assert.equal(p.evaluate("data.p.allow").value, true);
});

Deno.test("checkSyntax() throws RegoError for invalid text and accepts custom builtins", () => {
  throwsRego(() => checkSyntax("package p\nallow if {"), "parse", /policy\.rego:2:/);
  checkSyntax('package policy\nimport rego.v1\nx := query_reference_value("a")');
});

Deno.test("evaluate() treats __proto__ and constructor keys as ordinary data", () => {
  const p = compile(mod(`package p
keys := [k | some k, _ in input]
polluted if input.__proto__.admin
out := {"__proto__": {"admin": true}, "constructor": 1}`));
  const input = JSON.parse('{"__proto__": {"admin": true}, "constructor": {"x": 1}}');
  assert.deepEqual(p.evaluate("data.p.keys", { input }).value, ["__proto__", "constructor"]);
  assert.equal(p.evaluate("data.p.polluted", { input }).value, true);
  const out = p.evaluate("data.p.out").value as Record<string, unknown>;
  assert.ok(Object.hasOwn(out, "__proto__"));
  assert.equal(({} as Record<string, unknown>).admin, undefined);
});

Deno.test("evaluate() stops at maxSteps with a limit error", () => {
  const p = compile(mod("package p\nn := count([x | some x in numbers.range(1, 100000)])"));
  throwsRego(() => p.evaluate("data.p.n", { limits: { maxSteps: 1000 } }), "limit", /1000 steps/);
});

Deno.test("evaluate() stops at timeoutMs with a limit error", () => {
  const p = compile(mod(
    "package p\nn := count([1 | some x in numbers.range(1, 3000); some y in numbers.range(1, 3000)])",
  ));
  throwsRego(() => p.evaluate("data.p.n", { limits: { timeoutMs: 20 } }), "limit", /time limit/);
});

Deno.test("compile() rejects recursion between rules", () => {
  throwsRego(() => compile(mod("package p\na := b\nb := a")), "compile", /recursion detected/);
});

Deno.test("evaluate() turns deeply nested input into a limit error", () => {
  let s = "1";
  for (let i = 0; i < 200_000; i++) s = `[${s}]`;
  const input = JSON.parse(`{"a": ${"[".repeat(500)}${"]".repeat(500)}}`);
  const p = compile(mod("package p\nx := json.unmarshal(input.s)\ny := input.a"));
  throwsRego(() => p.evaluate("data.p.x", { input: { s } }), "limit", /depth/);
  throwsRego(() => p.evaluate("data.p.y", { input: { a: JSON.parse(s) } }), "limit", /depth/);
  assert.ok(Array.isArray(p.evaluate("data.p.y", { input }).value));
});

Deno.test("evaluate() raises a conflict error for complete rules with two values", () => {
  const p = compile(mod("package p\nx := 1 if true\nx := 2 if true"));
  throwsRego(() => p.evaluate("data.p.x"), "conflict", /multiple outputs/);
});

Deno.test("evaluate() makes builtin type errors undefined unless strict", () => {
  const p = compile(mod('package p\ndefault x := "dflt"\nx := upper(input.n)'));
  assert.equal(p.evaluate("data.p.x", { input: { n: 1 } }).value, "dflt");
  throwsRego(
    () => p.evaluate("data.p.x", { input: { n: 1 }, strict: true }),
    "eval",
    /`upper` expects string/,
  );
});

Deno.test("evaluate() with explain names the first failing expression of each body", () => {
  const p = compile(mod(`package policy
default allow := false
allow if {
  data.plugin == "resource"
  input.tee == "snp"
}`));
  const r = p.evaluate("data.policy.allow", {
    data: { plugin: "resource" },
    input: { tee: "sample" },
    explain: true,
  });
  assert.equal(r.value, false);
  assert.equal(r.explanation?.defaulted, true);
  assert.equal(r.explanation?.bodies[0]?.failedAt?.text, 'input.tee == "snp"');
  assert.equal(r.explanation?.bodies[0]?.failedAt?.location, "policy.rego:5:3");
});

Deno.test("evaluate() collects print output with file and line", () => {
  const p = compile(mod('package p\nx if {\n  print("seen", input.a, input.missing)\n}'));
  assert.deepEqual(p.evaluate("data.p.x", { input: { a: [1] } }).prints, [
    "policy.rego:3: seen [1] <undefined>",
  ]);
});

Deno.test("evaluate() applies with overrides to input and data", () => {
  const p = compile(
    mod(
      'package p\nimport rego.v1\nx := input.a\ny := r if { r := x with input.a as 5 }\nz := v if { v := data.cfg.k with data.cfg as {"k": 9} }',
    ),
  );
  assert.deepEqual(p.evaluate("data.p", { input: { a: 1 } }).value, { x: 1, y: 5, z: 9 });
});

Deno.test("evaluate() runs genpolicy-style v0 rules with state ops", () => {
  const p = compile(
    mod(`package agent_policy
import future.keywords.in
import future.keywords.every
import future.keywords.if

default CreateContainerRequest := {"allowed": false}
default ExecProcessRequest := false

CreateContainerRequest := {"ops": ops, "allowed": true} if {
  some i, c in policy_data.containers
  c.image == input.image
  every a in input.args { a in c.allowed_args }
  ops := [{"op": "add", "path": concat("/", ["/pstate", input.container_id]), "value": i}]
}

ExecProcessRequest if {
  i := data.pstate[input.container_id]
  regex.match(policy_data.containers[i].exec, concat(" ", input.args))
}

policy_data := {"containers": [{"image": "nginx", "allowed_args": ["-g", "daemon off;"], "exec": "^sh -c [a-z ]+$"}]}
`),
    { v0: true },
  );
  const ok = p.evaluate("data.agent_policy.CreateContainerRequest", {
    input: { image: "nginx", args: ["-g"], container_id: "c1" },
  }).value;
  assert.deepEqual(ok, { allowed: true, ops: [{ op: "add", path: "/pstate/c1", value: 0 }] });
  const bad = p.evaluate("data.agent_policy.CreateContainerRequest", {
    input: { image: "nginx", args: ["-x"], container_id: "c1" },
  }).value;
  assert.deepEqual(bad, { allowed: false });
  const exec = (args: string[]) =>
    p.evaluate("data.agent_policy.ExecProcessRequest", {
      input: { container_id: "c1", args },
      data: { pstate: { c1: 0 } },
    }).value;
  assert.equal(exec(["sh", "-c", "echo hi"]), true);
  assert.equal(exec(["sh", "-c", "rm -rf /;"]), false);
});

Deno.test("regex.match rejects lookaround and backreferences (RE2 syntax)", () => {
  const p = compile(mod('package p\nx := regex.match("a(?=b)", "ab")'));
  assert.equal(p.evaluate("data.p.x").value, undefined);
  throwsRego(() => p.evaluate("data.p.x", { strict: true }), "eval", /lookaround/);
});

Deno.test("rules() lists rule paths", () => {
  const p = compile(mod("package a.b\nimport rego.v1\nx := 1\nf(v) := v\ns contains 1"));
  assert.deepEqual(p.rules(), ["data.a.b.f", "data.a.b.s", "data.a.b.x"]);
});

Deno.test("evaluate() accepts general queries and returns bindings", () => {
  const p = compile(mod("package p\nxs := [1, 2, 3]"));
  assert.deepEqual(p.evaluate("some i; data.p.xs[i] == 2").value, { i: 1 });
  assert.equal(p.evaluate("count(data.p.xs) + 1").value, 4);
  assert.deepEqual(p.queryAll("x := data.p.xs[_]").results.map((r) => r.bindings.x), [1, 2, 3]);
});
