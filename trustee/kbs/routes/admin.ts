/** Admin endpoints: resource policy, attestation policy, reference values (spec/trustee.md §3.4). */
import type { Context } from "hono";
import { KbsError, parseJsonText } from "@coco/lib/kbs";
import { isJsonObject } from "@coco/lib/json";
import type { KbsDeps } from "../deps.ts";
import { PolicyError } from "../../policy/engine.ts";
import { RvpsError } from "../../rvps/mod.ts";
import { requestLog } from "../request_log.ts";

/** Runs the admin authorizer for this request. */
export async function requireAdmin(c: Context, deps: KbsDeps): Promise<void> {
  const url = new URL(c.req.url);
  await deps.admin.authorize({
    path: url.pathname,
    query: url.search.slice(1),
    authorization: c.req.header("Authorization") ?? null,
  });
}

/** Strict base64url without padding, as upstream's URL_SAFE_NO_PAD decoder. */
export function decodeB64UrlNoPad(text: string, what: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new KbsError(
      "ParsePolicyError",
      `Cannot parse ${what}: it must be base64url without padding`,
    );
  }
  return new TextDecoder("utf-8", { fatal: true }).decode(
    Uint8Array.fromBase64(text, { alphabet: "base64url" }),
  );
}

async function policyBody(c: Context, what: string): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = parseJsonText(await c.req.text(), what);
  } catch (err) {
    throw new KbsError("ParsePolicyError", (err as Error).message, { cause: err });
  }
  if (!isJsonObject(body) || typeof body.policy !== "string") {
    throw new KbsError(
      "ParsePolicyError",
      `Cannot parse ${what}: expected {"policy": "<base64url>"}`,
    );
  }
  return body;
}

function asPolicyError(err: unknown): never {
  if (err instanceof PolicyError) {
    throw new KbsError("ParsePolicyError", err.message, { cause: err });
  }
  throw err;
}

export async function setResourcePolicy(c: Context, deps: KbsDeps): Promise<Response> {
  await requireAdmin(c, deps);
  const body = await policyBody(c, "resource policy request");
  const text = decodeB64UrlNoPad(body.policy as string, "resource policy");
  await deps.resourcePolicy.set(text).catch(asPolicyError);
  requestLog(c, deps).info("resource policy set");
  return c.body(null, 200);
}

export async function listResourcePolicies(c: Context, deps: KbsDeps): Promise<Response> {
  await requireAdmin(c, deps);
  return c.json(await deps.resourcePolicy.list());
}

export async function setAttestationPolicy(c: Context, deps: KbsDeps): Promise<Response> {
  await requireAdmin(c, deps);
  const body = await policyBody(c, "attestation policy request");
  if (typeof body.policy_id !== "string" || !/^[A-Za-z0-9_.-]+$/.test(body.policy_id)) {
    throw new KbsError(
      "ParsePolicyError",
      "Cannot parse attestation policy request: policy_id must match [A-Za-z0-9_.-]+",
    );
  }
  const text = decodeB64UrlNoPad(body.policy as string, "attestation policy");
  await deps.as.setPolicy(body.policy_id, text).catch(asPolicyError);
  requestLog(c, deps).info("attestation policy set", { policy_id: body.policy_id });
  return c.body(null, 200);
}

export async function registerReferenceValue(c: Context, deps: KbsDeps): Promise<Response> {
  await requireAdmin(c, deps);
  try {
    const names = await deps.rvps.register(await c.req.text());
    requestLog(c, deps).info("reference values registered", { names });
  } catch (err) {
    if (err instanceof RvpsError) throw new KbsError("RvpsError", err.message, { cause: err });
    throw err;
  }
  return c.body(null, 200, { "Content-Type": "application/json" });
}

export async function getReferenceValue(c: Context, deps: KbsDeps, id: string): Promise<Response> {
  await requireAdmin(c, deps);
  const value = await deps.rvps.query(id);
  if (value === undefined) throw new KbsError("RvpsError", `Reference value \`${id}\` not found`);
  return c.json(value);
}
