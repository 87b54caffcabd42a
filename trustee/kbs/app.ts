/**
 * The KBS HTTP application: a route table, one handler per route, and the single place where
 * errors become HTTP responses (ErrorInformation bodies, spec/trustee.md §1.8). Every request
 * gets a request id (`X-Request-Id`, echoed when the client sent a sane one) carried by its
 * log records, and is measured for `/metrics`.
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ERROR_TYPE_PREFIX, KbsError, kbsErrorStatus } from "@coco/lib/kbs";
import type { Logger } from "@coco/lib/log";
import { StorageError } from "../storage/mod.ts";
import type { KbsDeps } from "./deps.ts";
import { ServiceError } from "./errors.ts";
import { handleAttest, handleAuth } from "./routes/rcar.ts";
import {
  getReferenceValue,
  listResourcePolicies,
  registerReferenceValue,
  setAttestationPolicy,
  setResourcePolicy,
} from "./routes/admin.ts";
import { handlePlugin } from "./routes/plugins.ts";
import { requestLog, withRequestId } from "./request_log.ts";

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

type Env = { Variables: { requestId: string; log: Logger } };

const BUILTIN_ROUTES = [
  "auth",
  "attest",
  "resource-policy",
  "attestation-policy",
  "reference-value",
];
const METHODS = new Set(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"]);

/** Bounded route label: a client inventing paths or methods cannot grow the metrics. */
function routeLabeler(plugins: string[]): (path: string) => string {
  const known = new Set([...BUILTIN_ROUTES, ...plugins]);
  return (path) => {
    if (!path.startsWith("/kbs/v0/")) return "other";
    const first = path.slice(8).split("/")[0] ?? "";
    return known.has(first) ? `/kbs/v0/${first}` : "other";
  };
}

function errorResponse(c: Context, deps: KbsDeps, err: Error): Response {
  const log = requestLog(c, deps);
  const requestId = c.get("requestId") as string | undefined;
  let code: string;
  let detail: string;
  let status: 401 | 404 | 413 | 500 | 503;
  if (err instanceof KbsError) {
    code = err.code;
    detail = err.message;
    status = kbsErrorStatus(err.code);
  } else if (err instanceof StorageError && err.code === "invalid-key") {
    [code, detail, status] = ["InvalidRequestPath", err.message, 404];
  } else if (err instanceof StorageError && err.code === "io") {
    [code, detail, status] = ["StorageUnavailable", `Storage unavailable: ${err.message}`, 503];
  } else if (err instanceof StorageError && err.code === "corrupt") {
    // Names the namespace and key (never a value), so an operator can find and fix the entry.
    code = "InternalError";
    detail = `${err.message} (request id ${requestId})`;
    status = 500;
  } else if (err instanceof ServiceError) {
    [code, detail, status] = [err.code, err.message, 503];
  } else {
    code = "InternalError";
    detail = `Internal error (request id ${requestId}; see the KBS log)`;
    status = 500;
  }
  if (status >= 500) log.error("request failed", { path: c.req.path, code, error: err });
  else log.info("request refused", { path: c.req.path, code, detail });
  if (status === 503) c.header("Retry-After", "1");
  return c.json({ type: `${ERROR_TYPE_PREFIX}${code}`, detail }, status);
}

/** Builds the KBS app over wired dependencies. */
export function createKbsApp(deps: KbsDeps): Hono<Env> {
  const app = new Hono<Env>();
  const m = deps.metrics;
  const limit = deps.config.http_server.payload_request_size * 1024 * 1024;
  const routeLabel = routeLabeler(deps.config.plugins.map((p) => p.name));

  app.use("*", async (c, next) => {
    const given = c.req.header("X-Request-Id");
    const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("log", withRequestId(deps.logger, requestId));
    const measured = c.req.path.startsWith("/kbs");
    if (measured && deps.state.draining) {
      throw new ServiceError("ShuttingDown", "This KBS replica is shutting down; retry on another");
    }
    const start = performance.now();
    if (measured) m.activeConnections.inc();
    deps.state.inflight++;
    try {
      await next();
    } finally {
      if (--deps.state.inflight === 0) deps.state.onIdle?.();
      c.header("X-Request-Id", requestId);
      if (measured) {
        m.activeConnections.inc({}, -1);
        const secs = (performance.now() - start) / 1000;
        const status = String(c.res.status);
        m.httpRequests.inc();
        m.httpDuration.observe(secs);
        m.routeDuration.observe(secs, {
          route: routeLabel(c.req.path),
          method: METHODS.has(c.req.method) ? c.req.method : "other",
          status,
        });
        const size = Number(c.req.header("Content-Length") ?? 0);
        if (size > 0) m.requestSize.observe(size);
        const out = Number(c.res.headers.get("Content-Length") ?? 0);
        if (out > 0) m.responseSize.observe(out);
        requestLog(c, deps).debug("request", {
          method: c.req.method,
          path: c.req.path,
          status,
          ms: Math.round(secs * 1e4) / 10,
        });
      }
    }
  });
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

  // Shared storage: policies and reference values written through any replica before this request
  // arrived must apply to it (trustee/README.md, "Scale-out"). /auth reads none of them; /attest
  // and resource reads sync through their session read when `sessionReadsSync` (see rcar.ts,
  // plugins.ts).
  app.use("/kbs/v0/*", async (c, next) => {
    const path = c.req.path;
    const viaSession = deps.sessionReadsSync &&
      (path === "/kbs/v0/attest" ||
        (c.req.method === "GET" && path.startsWith("/kbs/v0/resource/")));
    if (deps.syncCaches && path !== "/kbs/v0/auth" && !viaSession) await deps.syncCaches();
    await next();
  });
  app.get(
    "/healthz",
    (c) => deps.state.draining ? c.text("shutting down", 503) : c.body(null, 200),
  );
  app.get(
    "/metrics",
    (c) => c.body(m.render(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
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
  app.onError((err, c) => errorResponse(c, deps, err));
  return app;
}
