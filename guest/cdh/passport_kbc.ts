/**
 * `cc_kbc` in token (passport) mode (spec/guest.md §2.5): the AA attests and hands CDH a token and
 * the TEE private key; CDH fetches resources with `Authorization: Bearer` and decrypts the JWE.
 *
 * Better than upstream: the token and key are cached until the token's `exp`, so a burst of
 * resource requests costs one attestation; a 401 drops the cache and fetches a new token once.
 */
import { CodedError } from "@coco/lib/errors";
import { decryptResource, parseFlattenedJwe, type TeeKeyPair } from "@coco/lib/jose";
import { readKbsFailure, type ResourceUri, resourceUriToKbsPath } from "@coco/lib/kbs";

/** A KBS token and the TEE key pair it is bound to. */
export interface KbsCredentials {
  token: string;
  teeKey: TeeKeyPair;
}

/** Source of KBS tokens; `refresh` asks for a new one because the KBS rejected the last. */
export interface TokenProvider {
  getToken(options?: { refresh?: boolean }): Promise<KbsCredentials>;
}

/** Why a KBS fetch failed. */
export type KbcErrorCode = "http" | "not-found" | "unauthorized" | "decrypt" | "token";

/** A KBC failure; the message names the KBS path. */
export class KbcError extends CodedError<KbcErrorCode> {}

type CachedCredentials = KbsCredentials & { exp: number | undefined };

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
  #value: CachedCredentials | undefined;
  #pending: Promise<CachedCredentials> | undefined;
  /** Tokens fetched from the provider (for tests). */
  tokensFetched = 0;

  constructor(options: PassportKbcOptions) {
    this.#opts = options;
    this.#base = options.url.replace(/\/+$/, "");
    this.#http = options.caCert ? Deno.createHttpClient({ caCerts: [options.caCert] }) : undefined;
  }

  async #credentials(refresh: boolean): Promise<CachedCredentials> {
    const now = (this.#opts.now ?? Date.now)() / 1000;
    const v = this.#value;
    if (v && (v.exp === undefined || v.exp - 5 > now)) return v;
    this.#pending ??= this.#opts.tokens.getToken({ refresh }).then(
      (c) => {
        this.tokensFetched++;
        return this.#value = { ...c, exp: tokenExp(c.token) };
      },
      (err) => {
        throw new KbcError("token", `Cannot get a KBS token: ${(err as Error).message}`, {
          cause: err,
        });
      },
    ).finally(() => {
      this.#pending = undefined;
    });
    return await this.#pending;
  }

  async #get(path: string, token: string): Promise<Response> {
    try {
      return await fetch(`${this.#base}${path}`, {
        headers: { Authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 60_000),
        ...(this.#http ? { client: this.#http } : {}),
      });
    } catch (err) {
      throw new KbcError(
        "http",
        `Cannot reach KBS at ${this.#base}${path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  /** Fetches and decrypts the resource `uri`. */
  async getResource(uri: ResourceUri): Promise<Uint8Array> {
    const path = resourceUriToKbsPath(uri);
    for (let attempt = 0;; attempt++) {
      const { token, teeKey } = await this.#credentials(attempt > 0);
      const res = await this.#get(path, token);
      if (res.status === 401 && attempt === 0) {
        await res.body?.cancel();
        if (this.#value?.token === token) this.#value = undefined;
        continue;
      }
      if (!res.ok) throw await failure(res, path);
      try {
        return await decryptResource(
          parseFlattenedJwe(await res.json()),
          teeKey.privateKey,
          teeKey.privateJwk,
        );
      } catch (err) {
        throw new KbcError("decrypt", `Cannot decrypt KBS ${path}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
  }

  /** Releases the HTTP client. */
  close(): void {
    this.#http?.close();
  }
}

async function failure(res: Response, path: string): Promise<KbcError> {
  const f = await readKbsFailure(res);
  return new KbcError(f.code, `KBS GET ${path} failed (HTTP ${f.status}): ${f.detail}`);
}
