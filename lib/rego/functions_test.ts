import assert from "node:assert/strict";
import { compile, RegoError } from "./mod.ts";

const mod = (source: string) => [{ path: "policy.rego", source }];

const CONFLICT = `{k: v | some [k, v] in [["a", 1], ["a", 2]]}`;

Deno.test("functions: an error in one definition is dropped when another yields (non-strict)", () => {
  const p = compile(mod(`package p
f(x) := 1 if x == 1
f(x) := y if { x == 1; y := count(${CONFLICT}) }
g(x) := y if { x == 1; y := count(${CONFLICT}) }
r := f(1)
s := g(1)`));
  assert.equal(p.evaluate("data.p.r").value, 1);
  assert.throws(() => p.evaluate("data.p.s"), (e) => e instanceof RegoError && e.code === "eval");
  assert.throws(
    () => p.evaluate("data.p.r", { strict: true }),
    (e) => e instanceof RegoError && /generated multiple times/.test(e.message),
  );
});

Deno.test("functions: definitions yielding the same constant stop at the first success", () => {
  const p = compile(mod(`package p
ok(x) if x > 0
ok(x) if count(${CONFLICT}) > x
r := ok(1)`));
  assert.equal(p.evaluate("data.p.r").value, true);
  assert.throws(() => p.evaluate("data.p.r", { strict: true }), RegoError);
});

Deno.test("functions: nodes holding only functions are empty objects in the document", () => {
  const p = compile(mod(`package p
a.f(x) := x
b := a.f(2)`));
  assert.deepEqual(p.evaluate("data.p").value, { a: {}, b: 2 });
});

Deno.test("walk() yields [path, value] pairs in pre-order and binds patterns", () => {
  const p = compile(mod(`package p
paths := [p | walk({"b": [1], "a": true}, [p, _])]
leaves contains v if { walk(input, [_, v]); is_number(v) }`));
  assert.deepEqual(p.evaluate("data.p.paths").value, [[], ["a"], ["b"], ["b", 0]]);
  assert.deepEqual(p.evaluate("data.p.leaves", { input: { x: [3, { y: 4 }], z: "s" } }).value, [
    3,
    4,
  ]);
});

Deno.test("a rule body written as a comprehension is that one expression", () => {
  const p = compile(
    mod(`package p
x if { 1 | 1 }
y := 2 if { 1: 2 | some q in [1, 2] }
n if { 1 | 2 > 3 }
w if { x := {1} | {2}; x == {1, 2} }`),
    { v0: true },
  );
  assert.equal(p.evaluate("data.p.x").value, true);
  assert.equal(p.evaluate("data.p.y").value, 2);
  // `{ 1 | 2 > 3 }` is the empty set comprehension: defined, so n is true.
  assert.equal(p.evaluate("data.p.n").value, true);
  assert.equal(p.evaluate("data.p.w").value, true);
});
