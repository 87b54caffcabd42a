/**
 * `deno task e2e:vm`: the in-VM agent scenario on its own (tests/e2e/vm_e2e_test.ts), ending with
 * the plain line `N passed, N failed`.
 *
 * Usage: deno task e2e:vm [deno test flags…]
 *
 * @module
 */
import { runScenario } from "./_e2e_scenario.ts";

await runScenario({ test: "tests/e2e/vm_e2e_test.ts" });
