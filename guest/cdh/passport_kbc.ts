/**
 * `cc_kbc` in token (passport) mode (spec/guest.md §2.5): the AA attests and hands CDH a token and
 * the TEE private key; CDH fetches resources with `Authorization: Bearer` and decrypts the JWE.
 *
 * Better than upstream: the token and key are cached until the token's `exp`, so a burst of
 * resource requests costs one attestation; a 401 drops the cache and fetches a new token once.
 */
import { CodedError } from "@coco/lib/errors";
import { decryptResource, parseFlattenedJwe, type TeeKeyPair } from "@coco/lib/jose";
import { parseErrorInformation, type ResourceUri, resourceUriToKbsPath } from "@coco/lib/kbs";

/** A KBS token and the TEE key pair it is bound to. */
export interface KbsCredentials {
  token: string;
  teeKey: TeeKeyPair;
}

/** Source of KBS tokens. */
export interface TokenProvider {
  getToken(): Promise<KbsCredentials>;
}

/** Why a KBS fetch failed. */
export type KbcErrorCode = "http" | "not-found" | "unauthorized" | "decrypt" | "token";

/** A KBC failure; the message names the KBS path. */
export class KbcError extends CodedError<KbcErrorCode> {}

/** Options of {@linkcode PassportKbc}. */
export interface PassportKbcOptions {
  url: string;
  tokens: TokenProvider;
  caCert?: string;
  now?: () => number;
  timeoutMs?: number;
}

function tokenExp(token: string): number | undefined {
  try {
    const part = token.split(".")[1] ?? "";
    const claims = JSON.parse(
      new TextDecoder().decode(Uint8Array.fromBase64(part, { alphabet: "base64url" })),
    );
    return typeof claims?.exp === "number" ? claims.exp : undefined;
  } catch {
    return undefined;
  }
}

/** The `cc_kbc` client. */
export class PassportKbc {
  readonly #opts: PassportKbcOptions;
  readonly #base: string;
  readonly #http: Deno.HttpClient | undefined;
  #cached: Promise<KbsCredentials & { exp: number | undefined }> | undefined;
  /** Tokens fetched from the provider (for tests). */
  tokensFetched = 0;

  constructor(options: PassportKbcOptions) {
    this.#opts = options;
    this.#base = options.url.replace(/\/+$/, "");
    this.#http = options.caCert ? Deno.createHttpClient({ caCerts: [options.caCert] }) : undefined;
  }

  #credentials(): Promise<KbsCredentials & { exp: number | undefined }> {
    const now = (this.#opts.now ?? Date.now)() / 1000;
    const current = this.#cached;
    if (current) {
      return current.then((c) => {
        if (c.exp === undefined || c.exp - 5 > now) return c;
        if (this.#cached === current) this.#cached = undefined;
        return this.#credentials();
      });
    }
    const fresh = this.#opts.tokens.getToken().then(
      (c) => {
        this.tokensFetched++;
        return { ...c, exp: tokenExp(c.token) };
      },
      (err) => {
        if (this.#cached === fresh) this.#cached = undefined;
        throw new KbcError("token", `Cannot get a KBS token: ${(err as Error).message}`, { cause: err });
      },
    );
    this.#cached = fresh;
    return fresh;
  }

  async #get(path: string, token: string): Promise<Response> {
    try {
      return await fetch(`${this.#base}${path}`, {
        headers: { Authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 60_000),
        ...(this.#http ? { client: this.#http } : {}),
      });
    } catch (err) {
      throw new KbcError("http", `Cannot reach KBS at ${this.#base}${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Fetches and decrypts the resource `uri`. */
  async getResource(uri: ResourceUri): Promise<Uint8Array> {
    const path = resourceUriToKbsPath(uri);
    for (let attempt = 0;; attempt++) {
      const creds = this.#credentials();
      const { token, teeKey } = await creds;
      const res = await this.#get(path, token);
      if (res.status === 401 && attempt === 0) {
        await res.body?.cancel();
        if (this.#cached === creds) this.#cached = undefined;
        continue;
      }
      if (!res.ok) throw await failure(res, path);
      try {
        return await decryptResource(parseFlattenedJwe(await res.json()), teeKey.privateKey, teeKey.privateJwk);
      } catch (err) {
        throw new KbcError("decrypt", `Cannot decrypt KBS ${path}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Releases the HTTP client. */
  close(): void {
    this.#http?.close();
  }
}

async function failure(res: Response, path: string): Promise<KbcError> {
  const text = await res.text();
  let detail = text.slice(0, 300);
  try {
    detail = parseErrorInformation(JSON.parse(text))?.detail ?? detail;
  } catch { /* not JSON */ }
  const code: KbcErrorCode = res.status === 404 ? "not-found" : res.status === 401 ? "unauthorized" : "http";
  return new KbcError(code, `KBS GET ${path} failed (HTTP ${res.status}): ${detail}`);
}
