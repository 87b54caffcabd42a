/**
 * The `pull` subcommand alone (`deno run -A guest/image/main.ts pull IMAGE --dir DIR …`), for
 * benches and minimal guests: loads only the image code, not the other guest roles. The same
 * command is `coco-guest pull` in guest/main.ts.
 *
 * @module
 */
import { pullCommand } from "./cli.ts";

if (import.meta.main) {
  try {
    await pullCommand().parseAsync(Deno.args.slice(Deno.args[0] === "pull" ? 1 : 0), {
      from: "user",
    });
  } catch (err) {
    console.error(`coco-guest pull: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
