/**
 * After each PullImage the CDH records `{"image","digest"}` in the AA's runtime measurement log
 * (spec/guest.md §3.9, §1.6) through `ExtendRuntimeMeasurement`, as upstream's ttrpc CDH does:
 * skipped when the AA's unix socket does not exist, `NOT_SUPPORTED` / `NOT_ENABLED` are logged
 * and ignored, and any other failure fails the pull.
 */
import type { Logger } from "@coco/lib/log";
import { aa } from "@coco/lib/proto";
import { createClient } from "@coco/lib/ttrpc";
import type { LazyTtrpcClient } from "../_rpc/lazy_client.ts";
import type { PullMeasurement } from "./image_pull.ts";

/** Upstream's timeout for the call (10 s). */
const TIMEOUT_MS = 10_000;

async function socketMissing(address: string): Promise<boolean> {
  if (!address.startsWith("unix://")) return false;
  const path = address.slice("unix://".length);
  // An abstract socket (`unix://@name`) has no file to look for.
  if (path.startsWith("@")) return false;
  return await Deno.stat(path).then(() => false, () => true);
}

/** A measurer for {@linkcode ImagePullerOptions.measure} that calls the AA at `address`. */
export function aaPullMeasurer(
  client: LazyTtrpcClient,
  address: string,
  logger: Logger,
): (event: PullMeasurement) => Promise<void> {
  return async (event) => {
    if (await socketMissing(address)) {
      logger.warn("AA socket not found: image pull not measured", { aa: address });
      return;
    }
    const reply = await client.call((c) =>
      createClient(c, aa.AttestationAgentService).extendRuntimeMeasurement(
        { Domain: event.domain, Operation: event.operation, Content: event.content },
        { timeoutMs: TIMEOUT_MS },
      )
    );
    if (reply.Result !== aa.RuntimeMeasurementResult.OK) {
      logger.warn("image pull not measured", {
        result: aa.RuntimeMeasurementResult[reply.Result] ?? reply.Result,
      });
    }
  };
}
