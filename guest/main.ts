/**
 * `coco-guest`: the CoCo Deno guest components — `aa`, `cdh`, `api-server-rest`, `all` (one
 * process, every role) and `get-resource`. Each role prints one `<role> listening on <address>`
 * line to stdout when ready; logs go to stderr. SIGINT/SIGTERM stop it gracefully (exit 0).
 *
 * @module
 */
import { guestProgram } from "./_cli/commands.ts";
import { agentCommand } from "./agent/cli.ts";
import { pullCommand } from "./image/cli.ts";

if (import.meta.main) {
  try {
    await guestProgram().addCommand(agentCommand()).addCommand(pullCommand()).parseAsync(
      Deno.args,
      { from: "user" },
    );
  } catch (err) {
    console.error(`coco-guest: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
