/** The default {@linkcode Mounter}: mount(8)/umount(8) (util-linux or busybox). */
import { agentError } from "../errors.ts";
import type { Mounter } from "./types.ts";

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    const msg = new TextDecoder().decode(out.stderr).trim();
    throw agentError("internal", `${cmd} ${args.join(" ")} failed: ${msg}`);
  }
}

/** Mounts with the mount(8) command. */
export const commandMounter: Mounter = {
  async mount(source, target, fstype, options) {
    await run("mount", [
      ...(fstype ? ["-t", fstype] : []),
      ...(options.length ? ["-o", options.join(",")] : []),
      source,
      target,
    ]);
  },
  async umount(target) {
    await run("umount", ["-l", target]);
  },
};
