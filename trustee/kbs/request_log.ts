/** The per-request logger set by the app's first middleware (it carries `requestId`). */
import type { Context } from "hono";
import type { LogFields, Logger } from "@coco/lib/log";
import type { KbsDeps } from "./deps.ts";

/**
 * `log` with `requestId` added to every record: the same records as `log.child({requestId})`,
 * without building a child logger on every request (a child re-reads the log settings).
 */
export function withRequestId(log: Logger, requestId: string): Logger {
  const add = (fields?: LogFields): LogFields => ({ requestId, ...fields });
  return {
    debug: (msg, fields) => log.debug(msg, add(fields)),
    info: (msg, fields) => log.info(msg, add(fields)),
    warn: (msg, fields) => log.warn(msg, add(fields)),
    error: (msg, fields) => log.error(msg, add(fields)),
    child: (fields) => log.child(add(fields)),
  };
}

/** The request's logger, or the base logger outside a request. */
export function requestLog(c: Context, deps: KbsDeps): Logger {
  return (c.get("log") as Logger | undefined) ?? deps.logger;
}
