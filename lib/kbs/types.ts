/**
 * KBS protocol v0.4.0 wire types (RCAR: Request, Challenge, Attestation, Response) with strict
 * parsers. Wire names are kept as quoted keys. See spec/trustee.md §1.
 */
import { CodedError } from "../errors.ts";
import { isJsonObject, type JsonValue } from "../json/mod.ts";
import { obj, str } from "../json/fields.ts";
import { isTee, type Tee, TEES } from "./tee.ts";

/** The protocol version this implementation speaks (the server requires it exactly). */
export const KBS_PROTOCOL_VERSION = "0.4.0";

/** Hash algorithms a guest may offer and the KBS may select. */
export type HashAlgorithm = "sha256" | "sha384" | "sha512" | "sm3";
export const HASH_ALGORITHMS: readonly HashAlgorithm[] = ["sha256", "sha384", "sha512", "sm3"];

export class KbsParseError
  extends CodedError<"bad-json" | "bad-shape" | "bad-version" | "bad-tee"> {}

/** RCAR step 1, body of `POST /kbs/v0/auth`. */
export interface KbsRequest {
  version: string;
  tee: Tee;
  "extra-params": JsonValue;
}

/** RCAR step 2, body of the `/auth` response. `extra-params` is `""` except for IBM SE. */
export interface Challenge {
  nonce: string;
  "extra-params": JsonValue;
}

/** The TEE public key JWK carried in runtime data (`kbs_types::TeePubKey`). */
export type TeePubKey =
  | { kty: "EC"; crv: "P-256" | "P-384" | "P-521"; alg: string; x: string; y: string }
  | { kty: "RSA"; alg: string; n: string; e: string };

export interface RuntimeData {
  nonce: string;
  "tee-pubkey": TeePubKey;
}

export interface InitData {
  format: string;
  body: string;
}

export interface CompositeEvidence {
  primary_evidence: JsonValue;
  /** JSON text of `{ "<tee>": <evidence> }`, or `""` when there are no devices. */
  additional_evidence: string;
}

/** RCAR step 3, body of `POST /kbs/v0/attest`. */
export interface Attestation {
  "init-data"?: InitData | null;
  "runtime-data": RuntimeData;
  "tee-evidence": CompositeEvidence;
}

/** Error body of every failing KBS response. */
export interface ErrorInformation {
  type: string;
  detail: string;
}

function shape<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof KbsParseError) throw err;
    throw new KbsParseError("bad-shape", `Cannot parse ${what}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Parses JSON text, throwing `KbsParseError("bad-json")` with the reason. */
export function parseJsonText(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new KbsParseError(
      "bad-json",
      `Cannot parse ${what}: invalid JSON (${(err as Error).message})`,
      {
        cause: err,
      },
    );
  }
}

/** Parses an `/auth` body. Version is checked by the server, not here (it needs the exact text). */
export function parseKbsRequest(input: unknown): KbsRequest {
  return shape("KBS Request", () => {
    const o = obj(input, "request");
    const version = str(o.version, "version");
    const tee = str(o.tee, "tee");
    if (!isTee(tee)) {
      throw new KbsParseError(
        "bad-tee",
        `Cannot parse KBS Request: unknown tee \`${tee}\` (expected one of ${TEES.join(", ")})`,
      );
    }
    const extra = (o["extra-params"] ?? "") as JsonValue;
    return { version, tee, "extra-params": extra };
  });
}

/** Parses a challenge (guest side). */
export function parseChallenge(input: unknown): Challenge {
  return shape("KBS Challenge", () => {
    const o = obj(input, "challenge");
    return { nonce: str(o.nonce, "nonce"), "extra-params": (o["extra-params"] ?? "") as JsonValue };
  });
}

const B64URL = /^[A-Za-z0-9_-]+$/;

/** Parses a TEE public key JWK; only the shapes kbs-types accepts. */
export function parseTeePubKey(input: unknown): TeePubKey {
  return shape("tee-pubkey", () => {
    const o = obj(input, "tee-pubkey");
    const kty = str(o.kty, "tee-pubkey.kty");
    const alg = str(o.alg, "tee-pubkey.alg");
    const b64 = (v: unknown, p: string) => {
      const s = str(v, p);
      if (!B64URL.test(s)) throw new TypeError(`${p} must be base64url without padding`);
      return s;
    };
    if (kty === "EC") {
      const crv = str(o.crv, "tee-pubkey.crv");
      if (crv !== "P-256" && crv !== "P-384" && crv !== "P-521") {
        throw new TypeError(`tee-pubkey.crv \`${crv}\` is not supported`);
      }
      return { kty, crv, alg, x: b64(o.x, "tee-pubkey.x"), y: b64(o.y, "tee-pubkey.y") };
    }
    if (kty === "RSA") {
      return { kty, alg, n: b64(o.n, "tee-pubkey.n"), e: b64(o.e, "tee-pubkey.e") };
    }
    throw new TypeError(`tee-pubkey.kty \`${kty}\` is not supported`);
  });
}

/** Parses an `/attest` body. */
export function parseAttestation(input: unknown): Attestation {
  return shape("KBS Attestation", () => {
    const o = obj(input, "attestation");
    const rd = obj(o["runtime-data"], "runtime-data");
    const ev = obj(o["tee-evidence"], "tee-evidence");
    if (!("primary_evidence" in ev)) {
      throw new TypeError("tee-evidence.primary_evidence is missing");
    }
    const additional = ev.additional_evidence ?? "";
    const out: Attestation = {
      "runtime-data": {
        nonce: str(rd.nonce, "runtime-data.nonce"),
        "tee-pubkey": parseTeePubKey(rd["tee-pubkey"]),
      },
      "tee-evidence": {
        primary_evidence: ev.primary_evidence as JsonValue,
        additional_evidence: str(additional, "tee-evidence.additional_evidence"),
      },
    };
    const init = o["init-data"];
    if (init !== undefined && init !== null) {
      const i = obj(init, "init-data");
      out["init-data"] = {
        format: str(i.format, "init-data.format"),
        body: str(i.body, "init-data.body"),
      };
    }
    return out;
  });
}

/** Parses an ErrorInformation body (guest side); returns undefined if it is not one. */
export function parseErrorInformation(input: unknown): ErrorInformation | undefined {
  if (!isJsonObject(input)) return undefined;
  if (typeof input.type !== "string" || typeof input.detail !== "string") return undefined;
  return { type: input.type, detail: input.detail };
}

/** What a failed KBS HTTP response says: its status class and the ErrorInformation detail. */
export interface KbsFailure {
  code: "unauthorized" | "not-found" | "http";
  status: number;
  detail: string;
}

/** Reads a failed KBS response (consuming the body); the detail falls back to the raw text. */
export async function readKbsFailure(res: Response): Promise<KbsFailure> {
  const text = await res.text();
  let detail = text.slice(0, 500);
  try {
    detail = parseErrorInformation(JSON.parse(text))?.detail ?? detail;
  } catch { /* not JSON: keep the text */ }
  const code = res.status === 401 ? "unauthorized" : res.status === 404 ? "not-found" : "http";
  return { code, status: res.status, detail };
}
