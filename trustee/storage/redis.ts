/**
 * Redis storage (`storage_type = "Redis"`) over npm:redis, upstream's layout: key
 * `<namespace>:<key>`, value = raw bytes, no TTLs. Works with Valkey and KeyDB.
 *
 * `set` is `SET` (or `SET … NX` for `overwrite: false`, atomic across replicas), `delete` is
 * `GETDEL` (Redis ≥ 6.2), `list` is a `SCAN` over `<namespace>:*`. A key holding a non-string
 * value is a `corrupt` error naming the key. The offline queue is disabled, so while the server
 * is unreachable operations fail at once with an `io` error instead of piling up; the client
 * reconnects in the background and later operations succeed again.
 *
 * Change versions ({@linkcode StorageProvider.versions}): a write or delete in a `versioned`
 * namespace runs as one Lua script (`EVAL`, atomic) that also `INCR`s
 * `kbs_cache_versions:<namespace>` when it changed something; reading them is one `MGET`. The
 * scripts live in `redis_versions.ts`.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { cachedProvider, type NamespaceBackend } from "./_provider.ts";
import { StorageError } from "./errors.ts";
import { validateKey } from "./validate.ts";
import type { ProviderOptions, SetResult, StorageProvider } from "./types.ts";
import {
  deleteBumpCommand,
  getWithVersionsCommand,
  readVersions,
  refuseVersionsPrefix,
  setBumpCommand,
  splitVersionsReply,
  versionKey,
} from "./redis_versions.ts";

/** Options of {@linkcode createRedisStorage}. */
export interface RedisOptions {
  /** `redis://[user:pass@]host:port[/db]`, `rediss://…` or `unix:///path/to/socket`. */
  url: string;
  /** Milliseconds to wait for a connection (default 5000). */
  connectTimeoutMs?: number;
  /** Milliseconds before a command fails (default 5000). */
  commandTimeoutMs?: number;
}

/** The part of the npm:redis client this backend uses (its generic types are unwieldy). */
interface Client {
  sendCommand(
    args: ReadonlyArray<string | Buffer>,
    options: { typeMapping: typeof BYTES; timeout: number },
  ): Promise<unknown>;
  readonly isOpen: boolean;
  close(): Promise<void>;
  destroy(): void;
}
// RESP blob strings ('$' = 36) as Buffers instead of text.
const BYTES = { 36: Buffer };
const GLOB_SPECIAL = /[*?[\]\\]/g;

function describe(url: string): string {
  if (url.startsWith("unix:")) return `Redis ${url}`;
  try {
    const u = new URL(url);
    return `Redis ${u.host}`;
  } catch {
    return "Redis";
  }
}

/** Lazily connects one client; after a failed first connection the next operation retries. */
class Connection {
  #client: Client | undefined;
  #ready: Promise<Client> | undefined;
  #closed = false;

  constructor(private readonly options: RedisOptions) {}

  get(): Promise<Client> {
    if (this.#closed) return Promise.reject(new Error("the storage is closed"));
    this.#ready ??= this.#connect().catch((err) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #connect(): Promise<Client> {
    let connectedOnce = false;
    // Loaded on first use: the client library costs start-up time when Redis is not configured.
    const { createClient } = await import("redis");
    const client = createClient({
      url: this.options.url,
      disableOfflineQueue: true,
      socket: {
        connectTimeout: this.options.connectTimeoutMs ?? 5000,
        // Before the first connection: fail (the caller sees the error). Afterwards: back off.
        reconnectStrategy: (retries: number, cause: Error) =>
          connectedOnce ? Math.min(50 * 2 ** retries, 2000) : cause,
      },
    });
    client.on("error", () => {}); // surfaced per operation; never an unhandled 'error' event
    client.on("ready", () => (connectedOnce = true));
    this.#client = client as unknown as Client;
    try {
      await client.connect();
    } catch (err) {
      this.#client = undefined;
      client.destroy();
      throw err;
    }
    return client as unknown as Client;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    if (client?.isOpen) await client.close();
    else client?.destroy();
  }
}

class RedisNamespace implements NamespaceBackend {
  readonly #prefix: string;

  constructor(
    readonly namespace: string,
    private readonly conn: Connection,
    private readonly server: string,
    private readonly timeout: number,
    private readonly versioned: boolean,
  ) {
    this.#prefix = `${namespace}:`;
    this.#versionKey = versionKey(namespace);
  }

  readonly #versionKey: string;

  #fail(action: string, key: string | undefined, cause: unknown): StorageError {
    const what = key === undefined
      ? `namespace ${JSON.stringify(this.namespace)}`
      : `key ${JSON.stringify(key)} in namespace ${JSON.stringify(this.namespace)}`;
    const why = cause instanceof Error ? cause.message : String(cause);
    const wrongType = why.startsWith("WRONGTYPE");
    return new StorageError(
      wrongType ? "corrupt" : "io",
      `Cannot ${action} ${what} (${this.server}): ${
        wrongType ? "the stored value is not a Redis string" : why
      }`,
      { namespace: this.namespace, ...(key === undefined ? {} : { key }), cause },
    );
  }

  /** Sends one command; failures become `io` (or `corrupt`) errors naming the namespace/key. */
  async #send(action: string, key: string | undefined, args: Array<string | Uint8Array>) {
    try {
      const client = await this.conn.get();
      const wire = args.map((a) => typeof a === "string" ? a : Buffer.from(a));
      return await client.sendCommand(wire, {
        typeMapping: BYTES,
        timeout: this.timeout,
      });
    } catch (err) {
      throw this.#fail(action, key, err);
    }
  }

  #bytes(key: string, reply: unknown): Uint8Array | undefined {
    if (reply === null || reply === undefined) return undefined;
    if (reply instanceof Uint8Array) return new Uint8Array(reply);
    throw this.#fail("read", key, new Error(`unexpected reply ${typeof reply}`));
  }

  async set(key: string, value: Uint8Array, overwrite: boolean): Promise<SetResult> {
    const args: Array<string | Uint8Array> = this.versioned
      ? setBumpCommand(this.#prefix + key, this.#versionKey, value.slice(), overwrite)
      : ["SET", this.#prefix + key, value.slice()];
    if (!overwrite && !this.versioned) args.push("NX");
    const reply = await this.#send("write", key, args);
    return reply === null ? "exists" : "inserted";
  }

  /** `get(key)` plus the versions of `names`, atomically in one script. */
  async getWithVersions(
    key: string,
    names: readonly string[],
  ): Promise<{ value: Uint8Array | undefined; versions: string[] }> {
    const reply = await this.#send("read", key, getWithVersionsCommand(this.#prefix + key, names));
    const split = splitVersionsReply(reply, names);
    if (!split) throw this.#fail("read", key, new Error("unexpected script reply"));
    return { value: this.#bytes(key, split.value), versions: split.versions };
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.#bytes(key, await this.#send("read", key, ["GET", this.#prefix + key]));
  }

  async list(): Promise<string[]> {
    const pattern = this.#prefix.replace(GLOB_SPECIAL, (c) => `\\${c}`) + "*";
    const keys = new Set<string>();
    let cursor = "0";
    do {
      const reply = await this.#send("list", undefined, [
        "SCAN",
        cursor,
        "MATCH",
        pattern,
        "COUNT",
        "1000",
      ]);
      if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) {
        throw this.#fail("list", undefined, new Error("unexpected SCAN reply"));
      }
      cursor = new TextDecoder().decode(reply[0] as Uint8Array);
      for (const raw of reply[1] as Uint8Array[]) {
        const rest = new TextDecoder().decode(raw).slice(this.#prefix.length);
        // A key never contains ':'; a longer match belongs to a namespace "<ns>:<more>".
        if (!rest.includes(":")) keys.add(rest);
      }
    } while (cursor !== "0");
    return [...keys];
  }

  async delete(key: string): Promise<Uint8Array | undefined> {
    const args = this.versioned
      ? deleteBumpCommand(this.#prefix + key, this.#versionKey)
      : ["GETDEL", this.#prefix + key];
    return this.#bytes(key, await this.#send("delete", key, args));
  }
}

/**
 * Creates Redis storage. The connection is opened on the first operation; `close()` quits it.
 *
 * @example
 * ```ts
 * const storage = createRedisStorage({ url: "redis://127.0.0.1:6379" });
 * await storage.namespace("kbs_protocol_session").set("abc", new Uint8Array([1]));
 * await storage.close();
 * ```
 */
export function createRedisStorage(
  options: RedisOptions,
  providerOptions: ProviderOptions = {},
): StorageProvider {
  const conn = new Connection(options);
  const server = describe(options.url);
  const timeout = options.commandTimeoutMs ?? 5000;
  const versioned = new Set(providerOptions.versioned ?? []);
  const backends = new Map<string, RedisNamespace>();
  const provider = cachedProvider("Redis", (namespace) => {
    refuseVersionsPrefix(namespace);
    const backend = new RedisNamespace(namespace, conn, server, timeout, versioned.has(namespace));
    backends.set(namespace, backend);
    return backend;
  });
  return {
    namespace: (name) => provider.namespace(name),
    async getWithVersions(name: string, key: string, namespaces: readonly string[]) {
      provider.namespace(name);
      validateKey(name, key);
      return await backends.get(name)!.getWithVersions(key, namespaces);
    },
    versions: (namespaces: readonly string[]) =>
      readVersions(namespaces, server, async (args) => {
        const client = await conn.get();
        return await client.sendCommand(args, { typeMapping: BYTES, timeout });
      }),
    async close() {
      await provider.close();
      await conn.close();
    },
  };
}
