import assert from "node:assert/strict";
import { embeddedSource } from "./embed.ts";

for (const folder of ["trustee/kbs/policies", "trustee/attestation_service/policies"]) {
  Deno.test(`embedded policies in ${folder} match the .rego files (run deno task build)`, async () => {
    assert.equal(await Deno.readTextFile(`${folder}/embedded.ts`), await embeddedSource(folder));
  });
}
