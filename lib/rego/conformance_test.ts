import assert from "node:assert/strict";
import { caseFiles, loadCases, loadSkips, runCase } from "./conformance.ts";

const skips = loadSkips();

for (const file of caseFiles()) {
  Deno.test(`conformance ${file}`, async (t) => {
    for (const c of loadCases(file)) {
      c.v0 = !file.includes("bindings.yaml");
      const reason = skips[file]?.[c.note];
      await t.step({
        name: reason ? `${c.note} (skipped: ${reason})` : c.note,
        ignore: c.skip === true || reason !== undefined,
        fn: () => {
          const o = runCase(c);
          assert.equal(o.status, "pass", o.message ?? "");
        },
      });
    }
  });
}
