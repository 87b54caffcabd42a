/** `POST /kbs/v0/auth` and `POST /kbs/v0/attest` (spec/trustee.md §1.2–§1.7). */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { JsonValue } from "@coco/lib/json";
import { isJsonObject } from "@coco/lib/json";
import {
  deviceRuntimeData,
  isTee,
  KBS_PROTOCOL_VERSION,
  KbsError,
  parseAttestation,
  parseJsonText,
  parseKbsRequest,
  primaryRuntimeData,
  type Tee,
} from "@coco/lib/kbs";
import type { VerificationRequest } from "../../attestation_service/service.ts";
import type { KbsDeps } from "../deps.ts";
import { ServiceError, withDeadline } from "../errors.ts";
import { StorageError } from "../../storage/mod.ts";
import { requestLog } from "../request_log.ts";
import { sessionTimeout } from "../session.ts";

export const SESSION_COOKIE = "kbs-session-id";

function setSessionCookie(c: Context, id: string, timeout: string) {
  c.header("Set-Cookie", `${SESSION_COOKIE}=${id}; Expires=${new Date(timeout).toUTCString()}`);
}

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

function authFailed(why: string, cause?: unknown): KbsError {
  return new KbsError("AttestationError", `Attestation error: RCAR handshake Auth failed: ${why}`, {
    cause,
  });
}

function attestFailed(why: string, cause?: unknown): KbsError {
  return new KbsError(
    "AttestationError",
    `Attestation error: RCAR handshake Attest failed: ${why}`,
    { cause },
  );
}

/** The client address sessions are counted against (`X-Forwarded-For` only when trusted). */
export function clientAddress(c: Context, deps: KbsDeps): string {
  if (deps.config.limits.trust_forwarded_for) {
    const first = c.req.header("X-Forwarded-For")?.split(",")[0]?.trim();
    if (first) return first;
  }
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return info?.remoteAddr?.hostname ?? "unknown";
}

export async function handleAuth(c: Context, deps: KbsDeps): Promise<Response> {
  deps.metrics.authRequests.inc();
  try {
    const res = await auth(c, deps);
    deps.metrics.authSuccesses.inc();
    return res;
  } catch (err) {
    deps.metrics.authErrors.inc();
    throw err;
  }
}

async function auth(c: Context, deps: KbsDeps): Promise<Response> {
  let request;
  try {
    request = parseKbsRequest(parseJsonText(await c.req.text(), "KBS Request"));
  } catch (err) {
    throw authFailed((err as Error).message, err);
  }
  if (!SEMVER.test(request.version) || request.version.split("+")[0] !== KBS_PROTOCOL_VERSION) {
    throw authFailed(
      `KBS Client Protocol Version Mismatch: expect =${KBS_PROTOCOL_VERSION} while the request is ${request.version}`,
    );
  }
  const nonce = crypto.getRandomValues(new Uint8Array(32)).toBase64();
  const challenge = { nonce, "extra-params": "" as JsonValue };
  const session = await deps.sessions.create(
    request,
    challenge,
    deps.config.attestation_service.timeout,
    clientAddress(c, deps),
  );
  const s = (session as { Authed: { id: string; timeout: string } }).Authed;
  setSessionCookie(c, s.id, s.timeout);
  requestLog(c, deps).debug("auth", { tee: request.tee, session: s.id });
  return c.json(challenge);
}

function additionalRequests(text: string, nonce: string, key: JsonValue): VerificationRequest[] {
  if (text === "") return [];
  const map = parseJsonText(text, "additional_evidence");
  if (!isJsonObject(map)) {
    throw new TypeError("additional_evidence must be a JSON object of tee → evidence");
  }
  return Object.entries(map).map(([tee, evidence]) => {
    if (!isTee(tee)) throw new TypeError(`additional_evidence names unknown tee \`${tee}\``);
    return {
      tee: tee as Tee,
      evidence: evidence as JsonValue,
      runtimeData: { structured: deviceRuntimeData(nonce, key as never) },
      hashAlgorithm: "sha384",
    };
  });
}

export async function handleAttest(c: Context, deps: KbsDeps): Promise<Response> {
  deps.metrics.attestationRequests.inc();
  try {
    return await attest(c, deps);
  } catch (err) {
    deps.metrics.attestationErrors.inc();
    throw err;
  }
}

async function attest(c: Context, deps: KbsDeps): Promise<Response> {
  const id = getCookie(c, SESSION_COOKIE);
  if (!id) throw attestFailed("no kbs-session-id cookie (call /kbs/v0/auth first)");
  let body;
  try {
    body = parseAttestation(parseJsonText(await c.req.text(), "KBS Attestation"));
  } catch (err) {
    throw attestFailed((err as Error).message, err);
  }
  // With `sessionReadsSync` this read also syncs the policy caches (app.ts) before evaluation.
  const session = await deps.sessions.get(id);
  if (!session) throw attestFailed("session not found or expired");
  if ("Attested" in session) {
    setSessionCookie(c, id, sessionTimeout(session));
    return c.json({ token: session.Attested.token });
  }
  const { request, challenge, timeout } = session.Authed;
  const rd = body["runtime-data"];
  if (rd.nonce !== challenge.nonce) {
    throw attestFailed("runtime-data nonce does not match the session challenge");
  }
  const hashAlgorithm = request.tee === "se" ? "sha512" : "sha384";
  const primary: VerificationRequest = {
    tee: request.tee,
    evidence: body["tee-evidence"].primary_evidence,
    runtimeData: {
      structured: primaryRuntimeData(
        rd.nonce,
        rd["tee-pubkey"],
        body["tee-evidence"].additional_evidence,
      ),
    },
    hashAlgorithm,
  };
  const init = body["init-data"];
  if (init) {
    if (init.format !== "toml") {
      throw attestFailed(`init-data format \`${init.format}\` is not supported (only toml)`);
    }
    primary.initData = { toml: init.body };
  }
  let requests: VerificationRequest[];
  try {
    requests = [
      primary,
      ...additionalRequests(body["tee-evidence"].additional_evidence, rd.nonce, rd["tee-pubkey"]),
    ];
  } catch (err) {
    throw attestFailed((err as Error).message, err);
  }
  let token: string;
  let claims: Record<string, JsonValue>;
  const log = requestLog(c, deps);
  const limits = deps.config.limits;
  try {
    ({ token, claims } = await withDeadline(
      "Evidence verification",
      "verification_timeout_ms",
      limits.verification_timeout_ms,
      deps.as.evaluateWithClaims(requests, ["default"]),
    ));
  } catch (err) {
    // Outages and time limits are the service's fault, not the evidence's: 503, retry elsewhere.
    if (err instanceof ServiceError) throw err;
    if (err instanceof StorageError && err.code === "io") throw err;
    deps.metrics.attestationFailures.inc({ tee_type: request.tee });
    log.info("attestation refused", { tee: request.tee, session: id, error: err });
    throw attestFailed((err as Error).message, err);
  }
  deps.metrics.attestationSuccesses.inc({ tee_type: request.tee });
  deps.tokens.remember?.(token, claims);
  await deps.sessions.attest(id, token, timeout);
  setSessionCookie(c, id, timeout);
  log.info("attested", { tee: request.tee, session: id, devices: requests.length - 1 });
  return c.json({ token });
}
