/** Serving a ttrpc server on a socket address and cleaning the socket up afterwards. */
import type { Logger } from "@coco/lib/log";
import { formatAddress, listen, parseAddress, type TtrpcServer } from "@coco/lib/ttrpc";

/** A running ttrpc role. */
export interface RunningRole {
  /** Canonical listen address, e.g. `unix:///run/…/cdh.sock`. */
  address: string;
  /** Stops serving, runs `cleanup` and removes the socket file. */
  close(): Promise<void>;
}

/** Listens on `address`, serves `server`, and returns the running role. */
export async function serveTtrpc(
  server: TtrpcServer,
  address: string,
  logger: Logger,
  cleanup: () => Promise<void> | void = () => {},
): Promise<RunningRole> {
  const addr = parseAddress(address);
  const listener = await listen(addr);
  const serving = server.serve(listener).catch((err) =>
    logger.error("ttrpc listener failed", { error: err })
  );
  return {
    address: formatAddress(addr),
    async close() {
      await server.close({ graceMs: 2000 });
      await serving;
      await cleanup();
      if (addr.transport === "unix") await Deno.remove(addr.path).catch(() => {});
    },
  };
}
