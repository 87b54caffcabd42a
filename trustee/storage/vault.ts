/**
 * HashiCorp Vault / OpenBao **KV v1** storage over Vault's HTTP API, as upstream's resource
 * backend (`[[plugins]] name = "resource"`, `storage_backend_type = "Vault"`): resource
 * `<repo>/<type>/<tag>` lives at secret path `<mount>/<repo>/<type>/<tag>`, written as
 * `{"data": [byte, …]}`; on read the `data` member is taken as bytes (a string → its UTF-8
 * bytes, a byte array → those bytes, any other JSON → its serialization).
 *
 * {@linkcode vaultResourceStore} is that resource store; {@linkcode createVaultStorage} is a
 * full namespaced provider (namespace `n` under `<mount>/n/`) used by the conformance suite.
 * KV v1 has no compare-and-set, so `overwrite: false` is a read-then-write serialized per key
 * inside this process only (documented limit). Certificates are always verified (upstream's
 * `verify_ssl = false` default is not followed); `ca_certs` adds trusted roots.
 *
 * @module
 */
import { cachedProvider, type NamespaceBackend } from "./_provider.ts";
import { StorageError } from "./errors.ts";
import type { KvStore, SetResult, StorageProvider } from "./types.ts";
import { validateKey } from "./validate.ts";

/** Options of the Vault backend (upstream field names in comments). */
export interface VaultOptions {
  /** `vault_url`, e.g. `https://vault:8200`. */
  url: string;
  /** `token`, sent as `X-Vault-Token`. */
  token: string;
  /** `mount_path` of the KV v1 engine (default `secret`). */
  mountPath?: string;
  /** PEM texts of extra trusted CA certificates (`ca_certs`, read by the caller). */
  caCerts?: string[];
  /** Milliseconds before a request fails (default 5000). */
  timeoutMs?: number;
}

type Request = { method: string; path: string; body?: unknown };

class VaultApi {
  readonly base: string;
  readonly #client: Deno.HttpClient | undefined;

  constructor(private readonly options: VaultOptions) {
    const mount = (options.mountPath ?? "secret").replace(/^\/+|\/+$/g, "");
    this.base = `${options.url.replace(/\/+$/, "")}/v1/${mount}`;
    this.#client = options.caCerts?.length
      ? Deno.createHttpClient({ caCerts: options.caCerts })
      : undefined;
  }

  async call(req: Request): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${this.base}/${req.path}`, {
      method: req.method,
      headers: { "X-Vault-Token": this.options.token, "Content-Type": "application/json" },
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
      ...(this.#client ? { client: this.#client } : {}),
    });
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = text;
    }
    return { status: res.status, json };
  }

  close(): void {
    this.#client?.close();
  }
}

function member(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

function isByteArray(value: unknown): value is number[] {
  return Array.isArray(value) &&
    value.every((b) => typeof b === "number" && Number.isInteger(b) && b >= 0 && b < 256);
}

class VaultNamespace implements NamespaceBackend {
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(
    readonly namespace: string,
    private readonly api: VaultApi,
    private readonly prefix: string,
  ) {}

  #fail(action: string, key: string | undefined, why: string, cause?: unknown, corrupt = false) {
    const what = key === undefined
      ? `namespace ${JSON.stringify(this.namespace)}`
      : `key ${JSON.stringify(key)} in namespace ${JSON.stringify(this.namespace)}`;
    return new StorageError(
      corrupt ? "corrupt" : "io",
      `Cannot ${action} ${what} (Vault ${this.api.base}): ${why}`,
      { namespace: this.namespace, ...(key === undefined ? {} : { key }), cause },
    );
  }

  async #call(action: string, key: string | undefined, req: Request) {
    try {
      return await this.api.call(req);
    } catch (err) {
      throw this.#fail(action, key, err instanceof Error ? err.message : String(err), err);
    }
  }

  #expect(action: string, key: string | undefined, r: { status: number; json: unknown }) {
    if (r.status >= 200 && r.status < 300) return;
    const errors = member(r.json, "errors");
    const why = Array.isArray(errors) && errors.length ? errors.join("; ") : "no details";
    throw this.#fail(action, key, `HTTP ${r.status}: ${why}`);
  }

  async #serialized<T>(key: string, op: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(key) ?? Promise.resolve();
    const run = before.then(op, op);
    const tail = run.catch(() => {});
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }

  set(key: string, value: Uint8Array, overwrite: boolean): Promise<SetResult> {
    return this.#serialized(key, async () => {
      if (!overwrite && (await this.#get(key)) !== undefined) return "exists";
      const r = await this.#call("write", key, {
        method: "POST",
        path: this.prefix + key,
        body: { data: [...value] },
      });
      this.#expect("write", key, r);
      return "inserted";
    });
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.#get(key);
  }

  async #get(key: string): Promise<Uint8Array | undefined> {
    const r = await this.#call("read", key, { method: "GET", path: this.prefix + key });
    if (r.status === 404) return undefined;
    this.#expect("read", key, r);
    const secret = member(r.json, "data");
    const data = member(secret, "data");
    if (data === undefined) {
      throw this.#fail("read", key, "the secret has no `data` member", undefined, true);
    }
    if (typeof data === "string") return new TextEncoder().encode(data);
    if (isByteArray(data)) return Uint8Array.from(data);
    return new TextEncoder().encode(JSON.stringify(data));
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (folder: string) => {
      const r = await this.#call("list", undefined, {
        method: "LIST",
        path: this.prefix + folder,
      });
      if (r.status === 404) return;
      this.#expect("list", undefined, r);
      const keys = member(member(r.json, "data"), "keys");
      if (!Array.isArray(keys)) throw this.#fail("list", undefined, "the reply has no data.keys");
      for (const k of keys) {
        if (typeof k !== "string") continue;
        if (k.endsWith("/")) await walk(folder + k);
        else out.push(folder + k);
      }
    };
    await walk("");
    return out.filter((k) => {
      try {
        validateKey(this.namespace, k);
        return true;
      } catch {
        return false;
      }
    });
  }

  delete(key: string): Promise<Uint8Array | undefined> {
    return this.#serialized(key, async () => {
      const old = await this.#get(key);
      if (old === undefined) return undefined;
      const r = await this.#call("delete", key, { method: "DELETE", path: this.prefix + key });
      this.#expect("delete", key, r);
      return old;
    });
  }
}

/**
 * Namespaced Vault storage: namespace `n`, key `k` → secret `<mount>/n/k`.
 */
export function createVaultStorage(options: VaultOptions): StorageProvider {
  const api = new VaultApi(options);
  const provider = cachedProvider("Vault", (ns) => new VaultNamespace(ns, api, `${ns}/`));
  return {
    namespace: (name) => provider.namespace(name),
    async close() {
      await provider.close();
      api.close();
    },
  };
}

/**
 * The upstream resource backend: a store for the `repository` namespace whose key
 * `<repo>/<type>/<tag>` is the secret path under the mount. Call `close()` when done.
 */
export function vaultResourceStore(options: VaultOptions): { store: KvStore; close(): void } {
  const api = new VaultApi(options);
  const provider = cachedProvider("Vault", (ns) => new VaultNamespace(ns, api, ""));
  return { store: provider.namespace("repository"), close: () => api.close() };
}
