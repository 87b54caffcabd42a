/**
 * RCAR sessions in the `kbs_protocol_session` namespace, stored as upstream's externally tagged
 * JSON (`{"Authed": {...}}` / `{"Attested": {...}}`) so replicas sharing a store interoperate.
 * The timeout is fixed at `/auth`; expired sessions read as absent and are deleted.
 *
 * Bounded memory: each replica indexes the sessions it created (insertion order = age). Beyond
 * `maxSessions` the oldest are evicted (deleted from the store), and beyond
 * `maxSessionsPerClient` the client's own oldest are evicted, so a flood of `/auth` from one
 * address can neither grow the store without bound nor push out other clients' sessions.
 */
import type { Challenge, KbsRequest } from "@coco/lib/kbs";
import { isJsonObject } from "@coco/lib/json";
import { type KvStore, StorageError } from "../storage/mod.ts";

export type Session =
  | { Authed: { request: KbsRequest; challenge: Challenge; id: string; timeout: string } }
  | { Attested: { token: string; id: string; timeout: string } };

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });
const SESSION_ID = /^[0-9a-f]{32}$/;

/** A new session id: UUIDv4 in "simple" form (32 lowercase hex characters). */
export function newSessionId(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** Seconds-precision RFC 3339 timestamp, as chrono prints it. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function sessionTimeout(s: Session): string {
  return "Authed" in s ? s.Authed.timeout : s.Attested.timeout;
}

/** Parses stored session bytes; throws a `TypeError` saying what is wrong. */
export function parseSession(bytes: Uint8Array): Session {
  const v: unknown = JSON.parse(dec.decode(bytes));
  if (!isJsonObject(v)) throw new TypeError("not a JSON object");
  const body = v.Authed ?? v.Attested;
  if (!isJsonObject(body) || Object.keys(v).length !== 1) {
    throw new TypeError('expected {"Authed": …} or {"Attested": …}');
  }
  if (typeof body.id !== "string" || typeof body.timeout !== "string") {
    throw new TypeError("id and timeout must be strings");
  }
  if (Number.isNaN(Date.parse(body.timeout))) throw new TypeError("timeout is not a date");
  if ("Attested" in v) {
    if (typeof body.token !== "string") throw new TypeError("Attested.token must be a string");
  } else if (
    !isJsonObject(body.request) || !isJsonObject(body.challenge) ||
    typeof body.challenge.nonce !== "string"
  ) {
    throw new TypeError("Authed needs request and challenge.nonce");
  }
  return v as Session;
}

/** Limits of a {@linkcode SessionStore}. */
export interface SessionLimits {
  maxSessions: number;
  maxSessionsPerClient: number;
  /**
   * Whether other processes can create sessions in this store (shared Postgres/Redis), so that
   * `sweep()` must scan the whole namespace. For a process-local store (Memory) every session is
   * in this replica's index and the scan, which parses every session, is skipped.
   */
  shared?: boolean;
}

/** Called when sessions are evicted; `reason` says which limit. */
export type EvictionListener = (count: number, reason: "global" | "client") => void;

export class SessionStore {
  /** Sessions created here, oldest first: id → client address and expiry (ms). */
  readonly #index = new Map<string, { client: string; expires: number }>();
  readonly #byClient = new Map<string, Set<string>>();

  constructor(
    private kv: KvStore,
    private now: () => number = Date.now,
    private limits: SessionLimits = { maxSessions: 50_000, maxSessionsPerClient: 1000 },
    private onEvict: EvictionListener = () => {},
  ) {}

  /** Sessions currently indexed by this replica. */
  get size(): number {
    return this.#index.size;
  }

  /** Creates an `Authed` session that expires `ttlMinutes` from now, evicting beyond limits. */
  async create(
    request: KbsRequest,
    challenge: Challenge,
    ttlMinutes: number,
    client = "unknown",
  ): Promise<Session> {
    const id = newSessionId();
    const expires = this.now() + ttlMinutes * 60_000;
    const session: Session = { Authed: { request, challenge, id, timeout: rfc3339(expires) } };
    const victims: string[] = [];
    const mine = this.#byClient.get(client);
    if (mine && mine.size >= this.limits.maxSessionsPerClient) {
      victims.push(mine.values().next().value!);
    }
    // Only iterate when over the limit: finding the first live key of a Map whose oldest
    // entries were deleted scans their tombstones (~20 µs with 50k sessions, on every /auth).
    if (this.#index.size - victims.length >= this.limits.maxSessions) {
      for (const old of this.#index.keys()) {
        if (this.#index.size - victims.length < this.limits.maxSessions) break;
        if (!victims.includes(old)) victims.push(old);
      }
    }
    if (victims.length) {
      const perClient = victims.length === 1 && mine?.has(victims[0]!);
      for (const v of victims) this.#forget(v);
      this.onEvict(victims.length, perClient ? "client" : "global");
      await Promise.all(victims.map((v) => this.kv.delete(v)));
    }
    await this.kv.set(id, enc.encode(JSON.stringify(session)), { overwrite: true });
    this.#index.set(id, { client, expires });
    let set = this.#byClient.get(client);
    if (!set) this.#byClient.set(client, set = new Set());
    set.add(id);
    return session;
  }

  #forget(id: string): void {
    const entry = this.#index.get(id);
    if (!entry) return;
    this.#index.delete(id);
    const set = this.#byClient.get(entry.client);
    set?.delete(id);
    if (set?.size === 0) this.#byClient.delete(entry.client);
  }

  /**
   * The live session with this id, or undefined (expired sessions are deleted). A stored value
   * that is not a session is deleted and reported as a `corrupt` StorageError naming the id.
   */
  async get(id: string): Promise<Session | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    const bytes = await this.kv.get(id);
    if (!bytes) return undefined;
    let session: Session;
    try {
      session = parseSession(bytes);
    } catch (err) {
      await this.kv.delete(id);
      this.#forget(id);
      throw new StorageError(
        "corrupt",
        `Stored session ${id} in namespace ${
          JSON.stringify(this.kv.namespace)
        } is corrupt and was removed: ${(err as Error).message}`,
        { namespace: this.kv.namespace, key: id, cause: err },
      );
    }
    if (Date.parse(sessionTimeout(session)) <= this.now()) {
      await this.kv.delete(id);
      this.#forget(id);
      return undefined;
    }
    return session;
  }

  /** Marks a session attested with its token; the timeout is kept. */
  async attest(id: string, token: string, timeout: string): Promise<void> {
    const session: Session = { Attested: { token, id, timeout } };
    await this.kv.set(id, enc.encode(JSON.stringify(session)), { overwrite: true });
  }

  /**
   * Deletes expired sessions: first the ones this replica indexed (cheap), then (unless the
   * store is not `shared`) a scan of the whole namespace for sessions other replicas left
   * behind. Returns how many were deleted.
   */
  async sweep(): Promise<number> {
    let n = 0;
    const now = this.now();
    for (const [id, entry] of [...this.#index]) {
      if (entry.expires > now) continue;
      this.#forget(id);
      if (await this.kv.delete(id)) n++;
    }
    if (this.limits.shared === false) return n;
    for (const id of await this.kv.list()) {
      try {
        const bytes = await this.kv.get(id);
        if (bytes && !(await this.get(id))) n++;
      } catch (err) {
        if (!(err instanceof StorageError && err.code === "corrupt")) throw err;
        n++; // get() removed it
      }
    }
    return n;
  }
}
