/**
 * `deno task e2e:containerd`: the containerd scenario on its own (tests/e2e/containerd_e2e_test.ts:
 * containerd 1.6 + coco shim + coco snapshotter, guest pull in a QEMU pod VM, exec policy, kill
 * and fault cleanup). As root it first installs the peers it needs (scripts/install_peers.ts).
 * Ends with the plain line `N passed, N failed`.
 *
 * Usage: deno task e2e:containerd [deno test flags…]
 *
 * @module
 */
import { runScenario } from "./_e2e_scenario.ts";

await runScenario({ test: "tests/e2e/containerd_e2e_test.ts", installPeers: true });
