/**
 * `coco-host`: the node side (containerd shim v2, pod VM launcher, agent client, snapshotter).
 * The subcommands arrive with the shim and agent work; this entry point already parses the
 * command line so packaging and installation can be exercised.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { agentCtlCommand } from "./agent_client/mod.ts";
import { snapshotterCommand } from "./snapshotter/mod.ts";
import { runShim } from "./shim/mod.ts";

const program = new Command("coco-host")
  .description("CoCo Deno host side: containerd shim v2 and pod VM launcher (in progress)")
  .version("0.1.0")
  .showHelpAfterError();
program.addCommand(agentCtlCommand());
program.addCommand(snapshotterCommand());
program.command("shim").description(
  "containerd shim v2 (installed as containerd-shim-coco-v2): shim -namespace NS -id ID … start|delete",
);

if (import.meta.main && Deno.args[0] === "shim") {
  // containerd's Go-style flags (`-namespace ns … start`) bypass commander.
  Deno.exit(await runShim(Deno.args.slice(1)));
} else if (import.meta.main) {
  await program.parseAsync(Deno.args, { from: "user" });
  if (Deno.args.length === 0) program.outputHelp();
}
