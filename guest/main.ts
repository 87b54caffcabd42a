/**
 * `coco-guest`: the CoCo Deno guest components — `agent`, `pull`, `aa`, `cdh`,
 * `api-server-rest`, `all` (one process, every role) and `get-resource`. Each role prints one
 * `<role> listening on <address>` line to stdout when ready; logs go to stderr. SIGINT/SIGTERM
 * stop it gracefully (exit 0).
 *
 * Only the named subcommand's modules are loaded (the agent's start-up is part of pod start
 * time); help and unknown names load them all.
 *
 * @module
 */
/** `agent` and `pull` load alone (static specifiers, so `deno bundle` includes them). */
const LONE = {
  agent: async () => (await import("./agent/cli.ts")).agentCommand(),
  pull: async () => (await import("./image/cli.ts")).pullCommand(),
};

async function program(first: string | undefined) {
  const { Command } = await import("@commander-js/extra-typings");
  if (first === "agent" || first === "pull") {
    return new Command("coco-guest").version("0.1.0").showHelpAfterError()
      .addCommand(await LONE[first]());
  }
  const [{ guestProgram }, agent, pull] = await Promise.all([
    import("./_cli/commands.ts"),
    LONE.agent(),
    LONE.pull(),
  ]);
  return guestProgram().addCommand(agent).addCommand(pull);
}

if (import.meta.main) {
  try {
    await (await program(Deno.args[0])).parseAsync(Deno.args, { from: "user" });
  } catch (err) {
    console.error(`coco-guest: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
