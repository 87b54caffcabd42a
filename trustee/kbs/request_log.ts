/** The per-request logger set by the app's first middleware (it carries `requestId`). */
import type { Context } from "hono";
import type { Logger } from "@coco/lib/log";
import type { KbsDeps } from "./deps.ts";

/** The request's logger, or the base logger outside a request. */
export function requestLog(c: Context, deps: KbsDeps): Logger {
  return (c.get("log") as Logger | undefined) ?? deps.logger;
}
