import assert from "node:assert/strict";
import { statusOf, tierOf } from "./trust_vector.ts";

Deno.test("tierOf() follows rust-ear's tier boundaries", () => {
  const cases: Array<[number, string]> = [
    [0, "none"],
    [1, "none"],
    [-1, "none"],
    [2, "affirming"],
    [31, "affirming"],
    [-32, "affirming"],
    [32, "warning"],
    [95, "warning"],
    [-96, "warning"],
    [96, "contraindicated"],
    [-97, "contraindicated"],
    [127, "contraindicated"],
  ];
  for (const [v, want] of cases) assert.equal(tierOf(v), want, String(v));
});

Deno.test("statusOf() is the worst tier, none when nothing was set", () => {
  assert.equal(statusOf({}), "none");
  assert.equal(statusOf({ executables: 3, hardware: 2 }), "affirming");
  assert.equal(statusOf({ executables: 33, hardware: 2 }), "warning");
  assert.equal(statusOf({ executables: 33, hardware: 97, configuration: 2 }), "contraindicated");
});
