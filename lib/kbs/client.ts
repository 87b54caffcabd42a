/**
 * KBS protocol client (background check, RCAR) used by the guest's AA/CDH and by `trustee client`.
 *
 * Better than upstream: the TEE key pair and the attestation token are reused until the token
 * expires, so a burst of resource requests costs one attestation; a 401 triggers exactly one
 * fresh handshake and retry. Resources are fetched with `Authorization: Bearer`, which works
 * against any replica of a scaled-out trustee.
 */
import { CodedError } from "../errors.ts";
import {
  decryptResource,
  generateTeeKeyPair,
  parseFlattenedJwe,
  type TeeKeyPair,
} from "../jose/mod.ts";
import type { EvidenceProvider } from "../tee/mod.ts";
import {
  deviceRuntimeData,
  hashCanonical,
  primaryRuntimeData,
  selectedHashAlgorithm,
} from "./runtime_data.ts";
import { type ResourceUri, resourceUriToKbsPath } from "./resource_uri.ts";
import { type Attestation, KBS_PROTOCOL_VERSION, parseChallenge, readKbsFailure } from "./types.ts";

export type KbsClientErrorCode = "unauthorized" | "not-found" | "protocol" | "http" | "decrypt";
export class KbsClientError extends CodedError<KbsClientErrorCode> {
  constructor(
    code: KbsClientErrorCode,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

export interface KbsClientOptions {
  /** KBS root URL, e.g. `http://127.0.0.1:8080` (trailing `/` ignored). */
  url: string;
  evidence: EvidenceProvider;
  teeKey?: TeeKeyPair;
  /** Init-data TOML text sent with `/attest`. */
  initData?: string;
  /** Extra root CA (PEM) for HTTPS. */
  caCert?: string;
  now?: () => number;
  /** Per-request timeout (ms), default 60 s as upstream. */
  timeoutMs?: number;
}

interface CachedToken {
  token: string;
  exp: number | undefined;
}

function tokenExpiry(token: string): number | undefined {
  try {
    const payload = JSON.parse(
      new TextDecoder().decode(
        Uint8Array.fromBase64(token.split(".")[1] ?? "", { alphabet: "base64url" }),
      ),
    );
    return typeof payload.exp === "number" ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}

export class KbsClient {
  #opts: KbsClientOptions;
  #base: string;
  #key: TeeKeyPair | undefined;
  #token: CachedToken | undefined;
  #pending: Promise<CachedToken> | undefined;
  #http: Deno.HttpClient | undefined;
  /** How many full handshakes this client has run (for tests and benchmarks). */
  handshakes = 0;

  constructor(options: KbsClientOptions) {
    this.#opts = options;
    this.#base = options.url.replace(/\/+$/, "");
    this.#key = options.teeKey;
    if (options.caCert) this.#http = Deno.createHttpClient({ caCerts: [options.caCert] });
  }

  /** The TEE key pair (generated on first use). */
  async teeKey(): Promise<TeeKeyPair> {
    return this.#key ??= await generateTeeKeyPair();
  }

  close(): void {
    this.#http?.close();
  }

  async #fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.#base}${path}`, {
        ...init,
        signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 60_000),
        ...(this.#http ? { client: this.#http } : {}),
      } as RequestInit);
    } catch (err) {
      throw new KbsClientError(
        "http",
        `Cannot reach KBS at ${this.#base}${path}: ${(err as Error).message}`,
        undefined,
        {
          cause: err,
        },
      );
    }
  }

  async #failure(res: Response, what: string): Promise<KbsClientError> {
    const f = await readKbsFailure(res);
    return new KbsClientError(f.code, `${what} failed (HTTP ${f.status}): ${f.detail}`, f.status);
  }

  /** Runs a full RCAR handshake and returns the attestation token. */
  async attest(): Promise<string> {
    const evidence = this.#opts.evidence;
    const key = await this.teeKey();
    const authRes = await this.#fetch("/kbs/v0/auth", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        version: KBS_PROTOCOL_VERSION,
        tee: evidence.tee,
        "extra-params": { "supported-hash-algorithms": ["sha256", "sha384", "sha512", "sm3"] },
      }),
    });
    if (!authRes.ok) throw await this.#failure(authRes, "KBS /auth");
    const cookie = (authRes.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    let challenge;
    try {
      challenge = parseChallenge(await authRes.json());
    } catch (err) {
      throw new KbsClientError(
        "protocol",
        `KBS /auth returned an invalid challenge: ${(err as Error).message}`,
      );
    }
    const alg = selectedHashAlgorithm(challenge["extra-params"]);
    const pub = key.publicJwk;
    const additional = await evidence.additionalEvidence(
      hashCanonical(alg, deviceRuntimeData(challenge.nonce, pub)),
    );
    const primaryRd = hashCanonical(alg, primaryRuntimeData(challenge.nonce, pub, additional));
    const body: Attestation = {
      "runtime-data": { nonce: challenge.nonce, "tee-pubkey": pub },
      "tee-evidence": {
        primary_evidence: await evidence.primaryEvidence(primaryRd),
        additional_evidence: additional,
      },
    };
    if (this.#opts.initData !== undefined) {
      body["init-data"] = { format: "toml", body: this.#opts.initData };
    }
    const attestRes = await this.#fetch("/kbs/v0/attest", {
      method: "POST",
      headers: { "Content-Type": "application/json", Cookie: cookie },
      body: JSON.stringify(body),
    });
    if (!attestRes.ok) throw await this.#failure(attestRes, "KBS /attest");
    const json = await attestRes.json() as { token?: unknown };
    if (typeof json.token !== "string") {
      throw new KbsClientError("protocol", "KBS /attest returned no token");
    }
    this.handshakes++;
    this.#token = { token: json.token, exp: tokenExpiry(json.token) };
    return json.token;
  }

  /** A valid token: the cached one until it expires, else a new handshake (concurrent callers share it). */
  async token(): Promise<string> {
    const now = (this.#opts.now ?? Date.now)() / 1000;
    if (this.#token && (this.#token.exp === undefined || this.#token.exp - 5 > now)) {
      return this.#token.token;
    }
    this.#pending ??= this.attest().then((t) => ({ token: t, exp: tokenExpiry(t) })).finally(() => {
      this.#pending = undefined;
    });
    return (await this.#pending).token;
  }

  /** Fetches and decrypts a resource (`kbs://` URI or a `/kbs/v0/...` path). */
  async getResource(uri: ResourceUri | string): Promise<Uint8Array> {
    const path = typeof uri === "string" ? uri : resourceUriToKbsPath(uri);
    for (let attempt = 0;; attempt++) {
      const token = await this.token();
      const res = await this.#fetch(path, { headers: { Authorization: `Bearer ${token}` } });
      if (res.status === 401 && attempt === 0) {
        await res.body?.cancel();
        this.#token = undefined; // re-attest once: the token may have expired or been revoked
        continue;
      }
      if (!res.ok) throw await this.#failure(res, `KBS GET ${path}`);
      const key = await this.teeKey();
      try {
        return await decryptResource(
          parseFlattenedJwe(await res.json()),
          key.privateKey,
          key.privateJwk,
        );
      } catch (err) {
        throw new KbsClientError(
          "decrypt",
          `Cannot decrypt ${path}: ${(err as Error).message}`,
          200,
          { cause: err },
        );
      }
    }
  }
}
