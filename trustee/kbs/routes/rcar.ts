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

export async function handleAuth(c: Context, deps: KbsDeps): Promise<Response> {
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
  );
  const s = (session as { Authed: { id: string; timeout: string } }).Authed;
  setSessionCookie(c, s.id, s.timeout);
  deps.logger.debug("auth", { tee: request.tee, session: s.id });
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
  const id = getCookie(c, SESSION_COOKIE);
  if (!id) throw attestFailed("no kbs-session-id cookie (call /kbs/v0/auth first)");
  let body;
  try {
    body = parseAttestation(parseJsonText(await c.req.text(), "KBS Attestation"));
  } catch (err) {
    throw attestFailed((err as Error).message, err);
  }
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
  try {
    token = await deps.as.evaluate(requests, ["default"]);
  } catch (err) {
    deps.logger.info("attestation refused", { tee: request.tee, session: id, error: err });
    throw attestFailed((err as Error).message, err);
  }
  await deps.sessions.attest(id, token, timeout);
  setSessionCookie(c, id, timeout);
  deps.logger.info("attested", { tee: request.tee, session: id, devices: requests.length - 1 });
  return c.json({ token });
}
