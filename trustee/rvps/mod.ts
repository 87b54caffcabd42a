/**
 * Reference Value Provider Service (built-in): registers provenance messages and answers queries
 * by reference-value name (spec/trustee.md §6). Records live in the `reference_value` namespace
 * of the trustee storage (any backend: local fs/json, memory, PostgreSQL, Redis, Vault).
 * Unlike upstream, expired values are not returned (see README.md).
 *
 * @module
 */
import { CodedError } from "@coco/lib/errors";
import type { JsonValue } from "@coco/lib/json";
import { obj, str } from "@coco/lib/json/fields";
import { type KvStore, StorageError } from "../storage/mod.ts";

/** Why a message or stored record was refused. */
export type RvpsErrorCode = "bad-message" | "unsupported-type" | "bad-record";

/** A reference-value message could not be registered, or a stored record is corrupt. */
export class RvpsError extends CodedError<RvpsErrorCode> {}

/** Provenance types upstream Trustee has had; only `sample` is implemented here. */
const KNOWN_UNSUPPORTED = new Set(["in-toto", "swid", "corim"]);

/** The sample payload: standard base64 of a JSON object `{name: value}`. */
function decodePayload(text: string): unknown {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(text);
  } catch {
    throw new TypeError("payload is not standard base64");
  }
  try {
    return JSON.parse(dec.decode(bytes));
  } catch {
    throw new TypeError("payload is not base64 of JSON");
  }
}

/** Parses a stored record (typed; a corrupt record is an error naming the key). */
export function parseReferenceValueRecord(bytes: Uint8Array, key: string): ReferenceValueRecord {
  try {
    const o = obj(JSON.parse(dec.decode(bytes)), "record");
    const expiration = str(o.expiration, "expiration");
    if (Number.isNaN(Date.parse(expiration))) throw new TypeError("expiration is not a date");
    if (!("value" in o)) throw new TypeError("value is missing");
    return {
      version: str(o.version, "version"),
      name: str(o.name, "name"),
      expiration,
      value: o.value as JsonValue,
    };
  } catch (err) {
    throw new RvpsError(
      "bad-record",
      `Cannot read reference value \`${key}\`: stored record is corrupt: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** A stored reference value record (upstream layout). */
export interface ReferenceValueRecord {
  version: string;
  name: string;
  expiration: string;
  value: JsonValue;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

const isInvalidKey = (err: unknown) => err instanceof StorageError && err.code === "invalid-key";

/** `%Y-%m-%dT%H:%M:%SZ`. */
function formatExpiry(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** The built-in RVPS over a key-value store; `now` is injectable for expiry tests. */
export class Rvps {
  constructor(private store: KvStore, private now: () => number = Date.now) {}

  /** Registers an RVPS message `{"version":"0.1.0","type":"sample","payload":"<b64 JSON>"}`. */
  async register(messageText: string): Promise<string[]> {
    let payload: Record<string, unknown>;
    try {
      const m = obj(JSON.parse(messageText), "message");
      const version = m.version === undefined ? "0.1.0" : str(m.version, "version");
      if (version !== "0.1.0") {
        throw new TypeError(`version ${version} is not supported (expected 0.1.0)`);
      }
      const type = str(m.type, "type");
      if (type !== "sample") {
        throw new RvpsError(
          "unsupported-type",
          `Cannot register reference values: provenance type \`${type}\` is not supported ` +
            `(supported: sample${
              KNOWN_UNSUPPORTED.has(type) ? "; see trustee/rvps/README.md" : ""
            })`,
        );
      }
      payload = obj(decodePayload(str(m.payload, "payload")), "payload");
    } catch (err) {
      if (err instanceof RvpsError) throw err;
      throw new RvpsError(
        "bad-message",
        `Cannot register reference values: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const expiration = formatExpiry(this.now() + 365 * 24 * 3600 * 1000);
    const names: string[] = [];
    for (const [name, value] of Object.entries(payload)) {
      const rec: ReferenceValueRecord = {
        version: "0.1.0",
        name,
        expiration,
        value: value as JsonValue,
      };
      try {
        await this.store.set(name, enc.encode(JSON.stringify(rec)), { overwrite: true });
      } catch (err) {
        // A name the backend cannot store is the message's fault; an outage is not (it surfaces
        // as the StorageError it is, 503 at the KBS).
        if (!isInvalidKey(err)) throw err;
        throw new RvpsError(
          "bad-message",
          `Cannot register reference value \`${name}\`: ${(err as Error).message}`,
          { cause: err },
        );
      }
      names.push(name);
    }
    return names;
  }

  /**
   * The value of a reference value, or undefined when absent or expired. A storage failure is
   * thrown as the {@linkcode StorageError} it is (never reported as "not found"); only a name
   * the backend cannot store (`invalid-key`) reads as absent, since it cannot exist.
   */
  async query(name: string): Promise<JsonValue | undefined> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.store.get(name);
    } catch (err) {
      if (isInvalidKey(err)) return undefined;
      throw err;
    }
    if (!bytes) return undefined;
    const rec = parseReferenceValueRecord(bytes, name);
    if (Date.parse(rec.expiration) <= this.now()) return undefined;
    return rec.value;
  }

  /** All live reference values (for synchronous policy builtins). */
  async snapshot(): Promise<Map<string, JsonValue>> {
    const out = new Map<string, JsonValue>();
    for (const name of await this.store.list()) {
      const v = await this.query(name);
      if (v !== undefined) out.set(name, v);
    }
    return out;
  }
}
