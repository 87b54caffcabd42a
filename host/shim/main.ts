/**
 * Entry of the shim-only bundle `dist/containerd-shim-coco-v2.js`: `shim <containerd flags>
 * [start|delete]`, the same command line as `coco-host shim` (so the serving process the `start`
 * action re-executes from `Deno.mainModule` works with either). This bundle holds only the shim's
 * module graph — no commander, gRPC or snapshotter, hence none of the Node built-ins those load
 * at start-up — because containerd starts it three times per pod.
 *
 * @module
 */
import { runShim } from "./cli.ts";

if (import.meta.main) {
  if (Deno.args[0] !== "shim") {
    console.error("usage: containerd-shim-coco-v2.js shim -namespace NS -id ID … [start|delete]");
    Deno.exit(2);
  }
  Deno.exit(await runShim(Deno.args.slice(1)));
}
