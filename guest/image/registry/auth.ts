/**
 * Registry authentication: answers a `WWW-Authenticate` challenge with Basic credentials or with
 * a bearer token from the challenge's realm (Docker token protocol), and caches tokens per
 * registry and repository until they expire.
 *
 * @module
 */
import { isJsonObject } from "@coco/lib/json";
import { ImageError } from "../errors.ts";
import type { Credentials } from "./auth_file.ts";
import { parseChallenges } from "./challenge.ts";
import { fetchFollowing, readLimited, registryErrorText } from "./_http.ts";

/** Bearer tokens (as full `Authorization` values) by registry and repository. */
export class TokenCache {
  #entries = new Map<string, { header: string; expires: number }>();

  /** The cached header for `key`, when still valid at `now` (ms). */
  get(key: string, now: number): string | undefined {
    const e = this.#entries.get(key);
    if (e && e.expires > now) return e.header;
    this.#entries.delete(key);
    return undefined;
  }

  set(key: string, header: string, expires: number): void {
    this.#entries.set(key, { header, expires });
  }
}

/** What an {@link Authenticator} needs. */
export interface AuthenticatorOptions {
  host: string;
  repository: string;
  credentials?: Credentials | undefined;
  fetch: typeof fetch;
  cache: TokenCache;
  now: () => number;
  userAgent: string;
}

function basic(c: Credentials): string {
  return `Basic ${new TextEncoder().encode(`${c.username}:${c.password}`).toBase64()}`;
}

/** Produces `Authorization` headers for one registry repository. */
export class Authenticator {
  readonly #o: AuthenticatorOptions;
  #basic = false;

  constructor(options: AuthenticatorOptions) {
    this.#o = options;
  }

  get #key(): string {
    return `${this.#o.host}/${this.#o.repository}`;
  }

  /** The header to send up front, if a previous challenge told us what to send. */
  header(): string | undefined {
    if (this.#basic && this.#o.credentials) return basic(this.#o.credentials);
    return this.#o.cache.get(this.#key, this.#o.now());
  }

  /** Answers a 401 challenge; throws `auth_failed` when it cannot. */
  async respond(wwwAuthenticate: string | null): Promise<string> {
    const challenges = parseChallenges(wwwAuthenticate ?? "");
    const bearer = challenges.find((c) => c.scheme === "bearer");
    if (bearer) return await this.#token(bearer.params);
    if (challenges.some((c) => c.scheme === "basic")) {
      if (!this.#o.credentials) {
        throw new ImageError(
          "auth_failed",
          `Registry ${this.#o.host} requires credentials for ${this.#o.repository} and none were configured`,
        );
      }
      this.#basic = true;
      return basic(this.#o.credentials);
    }
    throw new ImageError(
      "auth_failed",
      `Registry ${this.#o.host} answered 401 without a usable WWW-Authenticate challenge`,
    );
  }

  async #token(params: Record<string, string>): Promise<string> {
    const { host, repository } = this.#o;
    let realm: URL;
    try {
      realm = new URL(params.realm ?? "");
    } catch {
      throw new ImageError(
        "auth_failed",
        `Registry ${host} sent a bearer challenge without a valid realm URL`,
      );
    }
    if (realm.protocol !== "https:" && realm.protocol !== "http:") {
      throw new ImageError(
        "auth_failed",
        `Registry ${host} sent a non-HTTP token realm ${realm.protocol}`,
      );
    }
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", params.scope ?? `repository:${repository}:pull`);
    const headers = new Headers({ "user-agent": this.#o.userAgent });
    if (this.#o.credentials) headers.set("authorization", basic(this.#o.credentials));
    const res = await fetchFollowing(this.#o.fetch, realm, { method: "GET", headers });
    if (!res.ok) {
      throw new ImageError(
        "auth_failed",
        `Token request to ${realm.origin} for ${repository} failed: ${await registryErrorText(
          res,
        )}`,
      );
    }
    const bytes = await readLimited(res, 1 << 20, `token response from ${realm.origin}`);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      body = undefined;
    }
    const token = isJsonObject(body) ? (body.token ?? body.access_token) : undefined;
    if (typeof token !== "string" || token === "" || /[\r\n]/.test(token)) {
      throw new ImageError("auth_failed", `Token response from ${realm.origin} has no token`);
    }
    const ttl = isJsonObject(body) && typeof body.expires_in === "number" ? body.expires_in : 60;
    const header = `Bearer ${token}`;
    // Refresh a little early; the protocol's minimum lifetime is 60 s.
    this.#o.cache.set(this.#key, header, this.#o.now() + Math.max(ttl, 60) * 1000 - 5000);
    return header;
  }
}
