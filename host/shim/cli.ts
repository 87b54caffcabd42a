/**
 * `coco-host shim <containerd flags> [start|delete]`, installed as `containerd-shim-coco-v2`:
 * dispatches the launch protocol's actions. `start` prints only the address on stdout (anything
 * else would corrupt it); `delete` prints only the DeleteResponse bytes; errors go to stderr and
 * exit 1 (containerd shows them). Serving mode writes `ready` on stdout once listening.
 *
 * Each action loads its own modules (dynamic imports): containerd runs this program three times
 * per pod (`start`, serving, `delete`), so start-up time is pod start time.
 */
import { shimConfigFromEnv } from "./config.ts";
import { ShimError } from "./errors.ts";
import { parseShimArgs } from "./flags.ts";
import { SHIM_T0_ENV } from "./phases.ts";

const enc = new TextEncoder();

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, data: Uint8Array) {
  let off = 0;
  while (off < data.length) off += await w.write(data.subarray(off));
}

/** Runs the shim with containerd's argument vector; returns the exit code. */
export async function runShim(args: readonly string[]): Promise<number> {
  try {
    const flags = parseShimArgs(args);
    if (flags.action === "version") {
      console.log("containerd-shim-coco-v2 (coco-host 0.1.0)");
      return 0;
    }
    const config = await shimConfigFromEnv();
    switch (flags.action) {
      case "start": {
        const { startShim } = await import("./launch.ts");
        // The serving shim inherits it and logs `shim-start` from this process's start.
        Deno.env.set(SHIM_T0_ENV, String(performance.timeOrigin));
        const address = await startShim(flags, config);
        await writeAll(Deno.stdout, enc.encode(address));
        return 0;
      }
      case "delete": {
        const [{ createLogger }, { deleteShim }] = await Promise.all([
          import("@coco/lib/log"),
          import("./launch.ts"),
        ]);
        const log = createLogger({ level: config.logLevel });
        await writeAll(Deno.stdout, await deleteShim(flags, config, log));
        return 0;
      }
      case "serve": {
        const { serveShim } = await import("./serve.ts");
        const shim = await serveShim(flags, config);
        await writeAll(Deno.stdout, enc.encode("ready\n"));
        for (const sig of ["SIGTERM", "SIGINT"] as const) {
          Deno.addSignalListener(sig, () => void shim.shutdown());
        }
        await shim.done;
        Deno.exit(0);
      }
    }
  } catch (err) {
    const msg = err instanceof ShimError ? err.message : `${(err as Error)?.message ?? err}`;
    await writeAll(Deno.stderr, enc.encode(`containerd-shim-coco-v2: ${msg}\n`)).catch(() => {});
    return 1;
  }
}
