/**
 * `coco-host`: the node side (containerd shim v2, pod VM launcher, agent client, snapshotter).
 * The subcommands arrive with the shim and agent work; this entry point already parses the
 * command line so packaging and installation can be exercised.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { agentCtlCommand } from "./agent_client/mod.ts";

const program = new Command("coco-host")
  .description("CoCo Deno host side: containerd shim v2 and pod VM launcher (in progress)")
  .version("0.1.0")
  .showHelpAfterError();
program.addCommand(agentCtlCommand());

if (import.meta.main) {
  await program.parseAsync(Deno.args, { from: "user" });
  if (Deno.args.length === 0) program.outputHelp();
}
