/**
 * The KBS HTTP application: a route table, one handler per route, and the single place where
 * errors become HTTP responses (ErrorInformation bodies, spec/trustee.md §1.8).
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ERROR_TYPE_PREFIX, KbsError, kbsErrorStatus } from "@coco/lib/kbs";
import { StorageError } from "../storage/mod.ts";
import type { KbsDeps } from "./deps.ts";
import { handleAttest, handleAuth } from "./routes/rcar.ts";
import {
  getReferenceValue,
  listResourcePolicies,
  registerReferenceValue,
  setAttestationPolicy,
  setResourcePolicy,
} from "./routes/admin.ts";
import { handlePlugin } from "./routes/plugins.ts";

/** Builds the KBS app over wired dependencies. */
export function createKbsApp(deps: KbsDeps): Hono {
  const app = new Hono();
  const limit = deps.config.http_server.payload_request_size * 1024 * 1024;
  app.use(
    "/kbs/*",
    bodyLimit({
      maxSize: limit,
      onError: () => {
        throw new KbsError(
          "PayloadTooLarge",
          `Request body is larger than ${limit} bytes (http_server.payload_request_size)`,
        );
      },
    }),
  );

  app.get("/healthz", (c) => c.body(null, 200));
  app.post("/kbs/v0/auth", (c) => handleAuth(c, deps));
  app.post("/kbs/v0/attest", (c) => handleAttest(c, deps));
  app.post("/kbs/v0/resource-policy", (c) => setResourcePolicy(c, deps));
  app.get("/kbs/v0/resource-policy", (c) => listResourcePolicies(c, deps));
  app.post("/kbs/v0/attestation-policy", (c) => setAttestationPolicy(c, deps));
  app.post("/kbs/v0/reference-value", (c) => registerReferenceValue(c, deps));
  app.get("/kbs/v0/reference-value/*", (c) => {
    const id = new URL(c.req.url).pathname.slice("/kbs/v0/reference-value/".length);
    return getReferenceValue(c, deps, decodeURIComponent(id));
  });
  app.on(["GET", "POST", "PUT", "DELETE"], "/kbs/v0/*", (c) => {
    const rest = new URL(c.req.url).pathname.slice("/kbs/v0/".length).split("/");
    const [plugin = "", ...path] = rest;
    return handlePlugin(c, deps, plugin, path);
  });

  app.notFound((c) =>
    c.json({
      type: `${ERROR_TYPE_PREFIX}InvalidRequestPath`,
      detail: `Invalid request path ${c.req.path}`,
    }, 404)
  );
  app.onError((err, c) => {
    let kbs: KbsError;
    if (err instanceof KbsError) kbs = err;
    else if (err instanceof StorageError && (err.code === "invalid-key")) {
      kbs = new KbsError("InvalidRequestPath", err.message, { cause: err });
    } else {
      const requestId = crypto.randomUUID();
      deps.logger.error("internal error", { requestId, path: c.req.path, error: err });
      kbs = new KbsError(
        "InternalError",
        `Internal error (request id ${requestId}; see the KBS log)`,
        { cause: err },
      );
    }
    const status = kbsErrorStatus(kbs.code);
    if (status !== 500) {
      deps.logger.debug("request failed", {
        path: c.req.path,
        code: kbs.code,
        detail: kbs.message,
      });
    }
    return c.json({ type: `${ERROR_TYPE_PREFIX}${kbs.code}`, detail: kbs.message }, status);
  });
  return app;
}
