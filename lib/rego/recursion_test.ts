import assert from "node:assert/strict";
import { compile, RegoError } from "./mod.ts";

const mod = (source: string, path = "policy.rego") => [{ path, source }];

function recursion(f: () => unknown, code: "compile" | "eval", msg: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof RegoError, `not a RegoError: ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, msg);
    return true;
  });
}

Deno.test("checkRecursion() names the whole cycle and the first rule's location", () => {
  recursion(
    () => compile(mod("package p\nimport rego.v1\na := b\nb := c\nc := a", "r.rego")),
    "compile",
    /^r\.rego:3:1: recursion detected: data\.p\.a -> data\.p\.b -> data\.p\.c -> data\.p\.a$/,
  );
});

Deno.test("checkRecursion() rejects a function calling itself", () => {
  recursion(
    () => compile(mod("package p\nf(x) := y if { y := f(x - 1) }\nr := f(3)")),
    "compile",
    /recursion detected: data\.p\.f -> data\.p\.f/,
  );
});

Deno.test("checkRecursion() rejects a partial set reading itself through a comprehension", () => {
  recursion(
    () => compile(mod("package p\ns contains x if { x := count([y | some y in s]) }")),
    "compile",
    /data\.p\.s -> data\.p\.s/,
  );
});

Deno.test("checkRecursion() counts a read of the enclosing package as a read of every rule", () => {
  recursion(
    () => compile(mod("package p\nall := data.p\nx := 1")),
    "compile",
    /data\.p\.all -> data\.p\.all/,
  );
  recursion(
    () => compile(mod("package p\nk := [n | some n, _ in data.p.q]\nq.r := k")),
    "compile",
    /data\.p\.k -> data\.p\.q\.r -> data\.p\.k/,
  );
});

Deno.test("checkRecursion() follows cycles across modules and imports", () => {
  recursion(
    () =>
      compile([
        { path: "a.rego", source: "package a\nimport data.b\nx := b.y" },
        { path: "b.rego", source: "package b\ny := data.a.x" },
      ]),
    "compile",
    /recursion detected: data\.a\.x -> data\.b\.y -> data\.a\.x/,
  );
});

Deno.test("checkRecursion() accepts forward references and sibling rules under one prefix", () => {
  const p = compile(mod(`package p
a := b
b := 5
t.b.c := 1
t.b.d := t.b.e
t.b.e := t.b.c
f(x) := g(x) + 1
g(x) := x * 2
h := f(2)`));
  assert.deepEqual(p.evaluate("data.p").value, {
    a: 5,
    b: 5,
    h: 5,
    t: { b: { c: 1, d: 1, e: 1 } },
  });
});

Deno.test("evaluate() still detects recursion created at run time by `with`", () => {
  const p = compile(mod("package p\nf(x) := g(x)\ng(x) := x\nr := y if { y := f(1) with g as f }"));
  assert.equal(
    compile(mod("package p\nf(x) := g(x)\ng(x) := x\nr := f(1)")).evaluate("data.p.r").value,
    1,
  );
  recursion(() => p.evaluate("data.p.r"), "eval", /recursion detected when calling data\.p\.f/);
});
