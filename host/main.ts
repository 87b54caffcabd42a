/**
 * `coco-host`: the node side (containerd shim v2, pod VM launcher, agent client, snapshotter).
 *
 * Start-up time is pod start time (containerd runs `coco-host shim` three times per pod), so
 * each subcommand's modules are loaded only when that subcommand runs: `shim` loads neither
 * commander nor the snapshotter's gRPC stack, and `snapshotter` does not load the agent client.
 * Help (no or an unknown subcommand) loads every subcommand to list them.
 *
 * @module
 */
import type { CommandUnknownOpts } from "@commander-js/extra-typings";

/** Subcommands other than `shim`, each loaded on demand (static specifiers: `deno bundle`). */
const SUBCOMMANDS: Record<string, () => Promise<CommandUnknownOpts>> = {
  "agent-ctl": async () => (await import("./agent_client/cli.ts")).agentCtlCommand(),
  snapshotter: async () => (await import("./snapshotter/cli.ts")).snapshotterCommand(),
};

async function program(only: string | undefined) {
  const { Command } = await import("@commander-js/extra-typings");
  const p = new Command("coco-host")
    .description("CoCo Deno host side: containerd shim v2 and pod VM launcher")
    .version("0.1.0")
    .showHelpAfterError();
  const names = only !== undefined && only in SUBCOMMANDS ? [only] : Object.keys(SUBCOMMANDS);
  for (const cmd of await Promise.all(names.map((n) => SUBCOMMANDS[n]!()))) p.addCommand(cmd);
  p.command("shim").description(
    "containerd shim v2 (installed as containerd-shim-coco-v2): shim -namespace NS -id ID … start|delete",
  );
  return p;
}

if (import.meta.main && Deno.args[0] === "shim") {
  // containerd's Go-style flags (`-namespace ns … start`) bypass commander.
  const { runShim } = await import("./shim/cli.ts");
  Deno.exit(await runShim(Deno.args.slice(1)));
} else if (import.meta.main) {
  const p = await program(Deno.args[0]);
  await p.parseAsync(Deno.args, { from: "user" });
  if (Deno.args.length === 0) p.outputHelp();
}
