/**
 * RCAR sessions in the `kbs_protocol_session` namespace, stored as upstream's externally tagged
 * JSON (`{"Authed": {...}}` / `{"Attested": {...}}`) so replicas sharing a store interoperate.
 * The timeout is fixed at `/auth`; expired sessions read as absent and are deleted.
 */
import type { Challenge, KbsRequest } from "@coco/lib/kbs";
import type { KvStore } from "../storage/mod.ts";

export type Session =
  | { Authed: { request: KbsRequest; challenge: Challenge; id: string; timeout: string } }
  | { Attested: { token: string; id: string; timeout: string } };

const enc = new TextEncoder();
const dec = new TextDecoder();

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

export class SessionStore {
  constructor(private kv: KvStore, private now: () => number = Date.now) {}

  /** Creates an `Authed` session that expires `ttlMinutes` from now. */
  async create(request: KbsRequest, challenge: Challenge, ttlMinutes: number): Promise<Session> {
    const id = newSessionId();
    const session: Session = {
      Authed: { request, challenge, id, timeout: rfc3339(this.now() + ttlMinutes * 60_000) },
    };
    await this.kv.set(id, enc.encode(JSON.stringify(session)), { overwrite: true });
    return session;
  }

  /** The live session with this id, or undefined (expired sessions are deleted). */
  async get(id: string): Promise<Session | undefined> {
    if (!/^[0-9a-f]{32}$/.test(id)) return undefined;
    const bytes = await this.kv.get(id);
    if (!bytes) return undefined;
    let session: Session;
    try {
      session = JSON.parse(dec.decode(bytes)) as Session;
      sessionTimeout(session);
    } catch {
      await this.kv.delete(id);
      return undefined;
    }
    if (Date.parse(sessionTimeout(session)) <= this.now()) {
      await this.kv.delete(id);
      return undefined;
    }
    return session;
  }

  /** Marks a session attested with its token; the timeout is kept. */
  async attest(id: string, token: string, timeout: string): Promise<void> {
    const session: Session = { Attested: { token, id, timeout } };
    await this.kv.set(id, enc.encode(JSON.stringify(session)), { overwrite: true });
  }

  /** Deletes expired sessions; returns how many. */
  async sweep(): Promise<number> {
    let n = 0;
    for (const id of await this.kv.list()) {
      const before = await this.kv.get(id);
      if (before && !(await this.get(id))) n++;
    }
    return n;
  }
}
