/**
 * Plugin dispatch for `/kbs/v0/<plugin>/<path…>` (spec/trustee.md §2.2): the `resource` plugin
 * (attested GET with a JWE response; admin POST/DELETE) and the `sample` plugin (admin).
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { JsonValue } from "@coco/lib/json";
import { encryptResource, JweError } from "@coco/lib/jose";
import { isResourcePath, KbsError } from "@coco/lib/kbs";
import type { KbsDeps } from "../deps.ts";
import { teeKeyFromClaims } from "../tee_key.ts";
import { requireAdmin } from "./admin.ts";
import { PolicyError } from "../../policy/engine.ts";
import { requestLog } from "../request_log.ts";
import { SESSION_COOKIE } from "./rcar.ts";

/**
 * The attestation token: from an attested cookie session first, else `Authorization: Bearer`.
 * Also syncs the policy caches (app.ts): a session read does it when `sessionReadsSync`, else
 * an explicit sync.
 */
async function presentedToken(c: Context, deps: KbsDeps): Promise<string> {
  const id = getCookie(c, SESSION_COOKIE);
  if (id) {
    const s = await deps.sessions.get(id);
    if (s && "Attested" in s) return s.Attested.token;
  }
  // No session was read (or it had no token): sync explicitly before the policy is evaluated.
  if (deps.sessionReadsSync) await deps.syncCaches?.();
  const auth = c.req.header("Authorization");
  const m = auth ? /^Bearer\s+(\S+)$/i.exec(auth) : null;
  if (m) return m[1]!;
  throw new KbsError("TokenNotFound", "Attestation Token not found");
}

/** Verifies the token and evaluates the resource policy; returns the claims. */
async function authorizeAttested(
  c: Context,
  deps: KbsDeps,
  plugin: string,
  path: string[],
): Promise<Record<string, JsonValue>> {
  const claims = await deps.tokens.verify(await presentedToken(c, deps));
  const query = Object.fromEntries(new URL(c.req.url).searchParams);
  const m = deps.metrics;
  m.policyEvaluations.inc();
  let decision;
  try {
    decision = await deps.resourcePolicy.evaluate(claims, {
      plugin,
      "resource-path": path,
      query,
    });
  } catch (err) {
    m.policyErrors.inc();
    if (err instanceof PolicyError) {
      throw new KbsError("PolicyEngineError", err.message, { cause: err });
    }
    throw err;
  }
  if (!decision.allow) {
    m.policyViolations.inc();
    requestLog(c, deps).info("PolicyDeny", {
      plugin,
      path: path.join("/"),
      why: decision.explanation,
    });
    throw new KbsError("PolicyDeny", "Access denied by policy");
  }
  m.policyApprovals.inc();
  return claims;
}

function resourceKey(path: string[]): string {
  if (!isResourcePath(path)) {
    throw new KbsError(
      "InvalidRequestPath",
      `Invalid resource path ${
        path.join("/")
      }: expected <repository>/<type>/<tag>, each [A-Za-z0-9_-][A-Za-z0-9_.-]*`,
    );
  }
  return path.join("/");
}

async function resourcePlugin(c: Context, deps: KbsDeps, path: string[]): Promise<Response> {
  const method = c.req.method;
  if (method === "POST" || method === "PUT") {
    await requireAdmin(c, deps);
    const key = resourceKey(path);
    await deps.resources.set(key, new Uint8Array(await c.req.arrayBuffer()), { overwrite: true });
    deps.metrics.resourceWrites.inc({ resource_path: key });
    requestLog(c, deps).info("resource written", { resource: key });
    return c.body(null, 200, { "Content-Type": "text/xml" });
  }
  if (method === "DELETE") {
    await requireAdmin(c, deps);
    const key = resourceKey(path);
    if (!(await deps.resources.delete(key))) {
      throw new KbsError("ResourceNotFound", `Resource ${key} not found`);
    }
    deps.metrics.resourceDeletes.inc({ resource_path: key });
    requestLog(c, deps).info("resource deleted", { resource: key });
    return c.body(null, 200, { "Content-Type": "text/xml" });
  }
  if (method !== "GET") {
    throw new KbsError("InvalidRequestPath", `Method ${method} is not supported for resources`);
  }
  const key = resourceKey(path);
  const claims = await authorizeAttested(c, deps, "resource", path);
  const value = await deps.resources.get(key);
  if (!value) throw new KbsError("ResourceNotFound", `Resource ${key} not found`);
  deps.metrics.resourceReads.inc({ resource_path: key });
  let teeKey;
  try {
    teeKey = teeKeyFromClaims(claims, deps.config.attestation_token.extra_teekey_paths);
  } catch (err) {
    throw new KbsError("JweError", `Cannot encrypt resource: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!teeKey) {
    throw new KbsError("JweError", "Cannot encrypt resource: the token carries no TEE public key");
  }
  try {
    const jwe = await encryptResource(teeKey, value);
    requestLog(c, deps).info("resource released", { resource: key });
    return c.json(jwe);
  } catch (err) {
    if (err instanceof JweError) throw new KbsError("JweError", err.message, { cause: err });
    throw err;
  }
}

/** Dispatches one plugin request. */
export async function handlePlugin(
  c: Context,
  deps: KbsDeps,
  plugin: string,
  path: string[],
): Promise<Response> {
  const configured = deps.config.plugins.find((p) => p.name === plugin);
  if (!configured) throw new KbsError("PluginNotFound", `Plugin ${plugin} not found`);
  switch (configured.name) {
    case "resource":
      return resourcePlugin(c, deps, path);
    case "sample":
      await requireAdmin(c, deps);
      return c.body("sample plugin response", 200, { "Content-Type": "text/xml" });
  }
}
