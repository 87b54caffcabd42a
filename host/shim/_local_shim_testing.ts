/**
 * Tests only: a serving shim on the `none` backend (the agent as a local process running this
 * checkout's guest/main.ts) under a temp dir, and a busybox OCI bundle for it.
 *
 * @module
 */
import { join } from "node:path";
import type { Logger } from "@coco/lib/log";
import { findPeers } from "../../tests/peers.ts";
import { parseShimConfig } from "./config.ts";
import { parseShimArgs } from "./flags.ts";
import { serveShim } from "./serve.ts";

const GUEST_MAIN = new URL("../../guest/main.ts", import.meta.url).pathname;

/** `serveShim` for task `id` with runtime and socket dirs under `dir`, backend `none`. */
export async function serveLocalShim(
  dir: string,
  id: string,
  logger: Logger,
  env: (name: string) => string | undefined = () => undefined,
): ReturnType<typeof serveShim> {
  const config = parseShimConfig({
    shim: {
      runtime_dir: join(dir, "run"),
      socket_dir: join(dir, "s"),
      local_agent_command: [Deno.execPath(), "run", "-A", GUEST_MAIN, "agent"],
    },
    hypervisor: { type: "none" },
  });
  const flags = parseShimArgs(["-namespace", "default", "-address", `${dir}/c.sock`, "-id", id]);
  return await serveShim(flags, config, { logger, env });
}

/** A bundle under `dir/bundles/<id>` whose rootfs is busybox (sh, sleep, echo, true) running `args`. */
export async function busyboxBundle(dir: string, id: string, args: string[]): Promise<string> {
  const b = join(dir, "bundles", id);
  const rootfs = join(b, "rootfs");
  await Deno.mkdir(join(rootfs, "bin"), { recursive: true });
  for (const d of ["proc", "dev", "sys", "tmp"]) await Deno.mkdir(join(rootfs, d));
  await Deno.copyFile(findPeers("busybox").paths.busybox!, join(rootfs, "bin/busybox"));
  for (const t of ["sh", "sleep", "echo", "true"]) {
    await Deno.symlink("busybox", join(rootfs, "bin", t));
  }
  await Deno.writeTextFile(
    join(b, "config.json"),
    JSON.stringify({
      ociVersion: "1.0.2",
      process: { args, env: ["PATH=/bin"], cwd: "/", user: { uid: 0, gid: 0 } },
      root: { path: "rootfs" },
      hostname: id,
      mounts: [
        { destination: "/proc", type: "proc", source: "proc" },
        { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755"] },
      ],
      linux: { namespaces: [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }] },
    }),
  );
  return b;
}
