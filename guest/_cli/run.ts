/** Process plumbing shared by the subcommands: the readiness line, logger and signal handling. */
import { createLogger, type Logger, type LogLevel } from "@coco/lib/log";

const enc = new TextEncoder();

/** Prints the one readiness line tests and the demo read (`<role> listening on <address>`). */
export function announce(role: string, address: string): void {
  Deno.stdout.writeSync(enc.encode(`${role} listening on ${address}\n`));
}

/** A stderr logger; `RUST_LOG` (as upstream) or `COCO_LOG` wins over the config level. */
export function roleLogger(level: LogLevel): Logger {
  const env = Deno.env.get("RUST_LOG") ?? Deno.env.get("COCO_LOG");
  return env ? createLogger() : createLogger({ level });
}

/** Resolves on the first SIGINT or SIGTERM (SIGHUP too, as upstream). */
export function shutdownSignal(): Promise<Deno.Signal> {
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  return new Promise((resolve) => {
    const handlers = signals.map((sig) => {
      const h = () => {
        signals.forEach((s, i) => Deno.removeSignalListener(s, handlers[i]!));
        resolve(sig);
      };
      Deno.addSignalListener(sig, h);
      return h;
    });
  });
}

/** Something that can be stopped. */
export interface Closable {
  close(): Promise<void>;
}

/** Waits for a signal, then closes `parts` in reverse start order and exits 0. */
export async function serveUntilSignal(logger: Logger, parts: Closable[]): Promise<never> {
  const sig = await shutdownSignal();
  logger.info("shutting down", { signal: sig });
  for (const p of [...parts].reverse()) {
    await p.close().catch((err) => logger.error("shutdown step failed", { error: err }));
  }
  Deno.exit(0);
}
