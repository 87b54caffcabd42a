/**
 * Wiring and serving the all-in-one trustee: storage, sessions, attestation service, RVPS,
 * policies, admin authorizer and token verifier from one `KbsConfig`, served on every configured
 * socket (HTTP or HTTPS). Logs each bound address (including the port chosen for port 0).
 * `shutdown()` drains: `/healthz` turns 503, listeners stop accepting, in-flight requests finish
 * (up to `limits.shutdown_grace_ms`), then storage is closed.
 */
import { cryptoBackend } from "@coco/lib/jose";
import type { Logger } from "@coco/lib/log";
import { createAdminAuthorizer } from "../admin/mod.ts";
import { AttestationService } from "../attestation_service/service.ts";
import { loadSigner } from "../attestation_service/signer.ts";
import { loadTrustedAkKeys } from "../verifier/tpm/trust.ts";
import { PolicyEngine } from "../policy/engine.ts";
import { Rvps } from "../rvps/mod.ts";
import { createStorage, type KvStore, type StorageProvider } from "../storage/mod.ts";
import { vaultResourceStore } from "../storage/vault.ts";
import { cachedStore } from "../storage/cached.ts";
import { syncingStore, VersionClock, versionedStore } from "../storage/versioned_cache.ts";
import { createKbsApp } from "./app.ts";
import type { KbsConfig } from "./config.ts";
import type { KbsDeps } from "./deps.ts";
import { KbsMetrics } from "./metrics.ts";
import { ResourcePolicy } from "./resource_policy.ts";
import { SessionStore } from "./session.ts";
import { loadTls } from "./tls.ts";
import { createTokenVerifier } from "./token_verifier.ts";

export interface Kbs {
  deps: KbsDeps;
  fetch: (req: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>;
  close(): Promise<void>;
}

async function resourceStore(
  config: KbsConfig,
  storage: StorageProvider,
): Promise<{ store: KvStore; close(): void }> {
  const plugin = config.plugins.find((p) => p.name === "resource");
  if (plugin?.name !== "resource" || plugin.storage_backend_type !== "Vault") {
    return { store: storage.namespace("repository"), close() {} };
  }
  const v = plugin.vault;
  const caCerts = await Promise.all(v.ca_certs.map((p) => Deno.readTextFile(p)));
  return vaultResourceStore({
    url: v.vault_url,
    token: v.token,
    mountPath: v.mount_path,
    caCerts,
  });
}

/** Namespaces read through a cache: AS policies, reference values, the resource policy. */
const CACHED = ["attestation_service_policy", "reference_value", "kbs"];

/**
 * The caches of {@linkcode CACHED}. On shared storage with change versions (Postgres, Redis)
 * they are version-checked: `sync()` (called by every request that reads them) makes other
 * replicas' finished writes visible, so `policy_cache_ms` only switches caching off (0). On local
 * storage they expire after `policy_cache_ms` (hand edits of the files show within it).
 */
function policyCaches(storage: StorageProvider, ttlMs: number) {
  if (storage.versions && ttlMs > 0) {
    const clock = new VersionClock(storage, CACHED);
    return {
      cached: (ns: string) => versionedStore(storage.namespace(ns), clock),
      sync: () => clock.sync(),
      clock,
    };
  }
  return {
    cached: (ns: string) => cachedStore(storage.namespace(ns), ttlMs),
    sync: () => Promise.resolve(),
  };
}

/** Builds a KBS from config (no sockets yet). */
export async function createKbs(
  config: KbsConfig,
  logger: Logger,
  now: () => number = Date.now,
): Promise<Kbs> {
  const storage = createStorage(config.storage_backend, undefined, { versioned: CACHED });
  const sessionStorage: StorageProvider = config.session_storage === config.storage_backend
    ? storage
    : createStorage(config.session_storage);
  const close = async () => {
    await storage.close();
    if (sessionStorage !== storage) await sessionStorage.close();
  };
  try {
    const metrics = new KbsMetrics();
    const engine = new PolicyEngine({ timeoutMs: config.limits.policy_timeout_ms });
    const signer = await loadSigner(config.attestation_service.signer);
    const { cached, sync, clock } = policyCaches(storage, config.limits.policy_cache_ms);
    // Sessions in the same shared store: each session read brings the versions along, so the
    // requests that start with one (/attest, resource with a cookie) need no separate check.
    const piggyback = clock !== undefined && sessionStorage === storage &&
      storage.getWithVersions !== undefined;
    const sessionKv = piggyback
      ? syncingStore(storage.namespace("kbs_protocol_session"), storage, clock)
      : sessionStorage.namespace("kbs_protocol_session");
    const rvps = new Rvps(cached("reference_value"), now);
    const as = await AttestationService.create({
      policies: cached("attestation_service_policy"),
      rvps,
      signer,
      broker: config.attestation_service.broker,
      logger: logger.child({ component: "as" }),
      engine,
      now,
      verifierOptions: {
        trustedAkKeys: await loadTrustedAkKeys(config.attestation_service.tpm_verifier),
      },
    });
    const resourcePolicy = new ResourcePolicy(cached("kbs"), engine);
    await resourcePolicy.install();
    const resources = await resourceStore(config, storage);
    const sessions = new SessionStore(
      sessionKv,
      now,
      {
        maxSessions: config.limits.max_sessions,
        maxSessionsPerClient: config.limits.max_pending_sessions_per_client,
        shared: config.session_storage.type !== "Memory",
      },
      (count, reason) => metrics.sessionsEvicted.inc({ reason }, count),
    );
    const deps: KbsDeps = {
      config,
      sessions,
      resources: resources.store,
      as,
      rvps,
      tokens: await createTokenVerifier(config.attestation_token, {
        trustedKeys: [signer.jwk],
        now,
      }),
      admin: await createAdminAuthorizer(config.admin, { now, logger }),
      resourcePolicy,
      logger,
      metrics,
      state: { draining: false, inflight: 0 },
      now,
      syncCaches: sync,
      sessionReadsSync: piggyback,
    };
    const app = createKbsApp(deps);
    return {
      deps,
      fetch: (req, info) => app.fetch(req, info),
      async close() {
        resources.close();
        await close();
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface RunningKbs {
  kbs: Kbs;
  addresses: string[];
  shutdown(): Promise<void>;
}

function splitSocket(socket: string): { hostname: string; port: number } {
  const i = socket.lastIndexOf(":");
  return {
    hostname: socket.slice(0, i).replace(/^\[|\]$/g, ""),
    port: Number(socket.slice(i + 1)),
  };
}

/** Options of {@linkcode serveKbs}. */
export interface ServeOptions {
  /** Directory for a generated self-signed certificate when HTTPS has none configured. */
  selfSignedDir?: string;
}

/** Serves the KBS on every configured socket; sweeps expired sessions every 60 s. */
export async function serveKbs(
  config: KbsConfig,
  logger: Logger,
  options: ServeOptions = {},
): Promise<RunningKbs> {
  const tls = await loadTls(config.http_server, config.file, options.selfSignedDir);
  const kbs = await createKbs(config, logger);
  // libcrypto (system OpenSSL 3) or the portable WebCrypto/noble code: 5–10× apart per flow.
  logger.info("P-256 crypto", { backend: cryptoBackend() });
  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  const addresses: string[] = [];
  const sweep = setInterval(() => {
    kbs.deps.sessions.sweep().catch((err) => logger.warn("session sweep failed", { error: err }));
  }, 60_000);
  const gauge = setInterval(() => {
    kbs.deps.metrics.sessions.inc({}, kbs.deps.sessions.size - kbs.deps.metrics.sessions.get());
  }, 1000);
  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    stopping ??= (async () => {
      kbs.deps.state.draining = true;
      clearInterval(sweep);
      clearInterval(gauge);
      // Deno's server.shutdown() cuts request bodies still being read, so first wait (up to the
      // grace period) until every in-flight request has been answered, then close listeners.
      const state = kbs.deps.state;
      const grace = config.limits.shutdown_grace_ms;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), grace)));
      const idle = state.inflight === 0
        ? Promise.resolve("idle" as const)
        : new Promise<"idle">((r) => (state.onIdle = () => r("idle")));
      if (await Promise.race([idle, late]) === "late") {
        logger.warn("requests still running after the shutdown grace period", { grace_ms: grace });
      }
      clearTimeout(timer);
      await Promise.all(servers.map((s) => s.shutdown()));
      await kbs.close();
    })();
  try {
    for (const socket of config.http_server.sockets) {
      const { hostname, port } = splitSocket(socket);
      const server = Deno.serve({ hostname, port, ...(tls ?? {}), onListen: () => {} }, kbs.fetch);
      servers.push(server);
      const a = server.addr;
      const shown = `${tls ? "https" : "http"}://${
        a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname
      }:${a.port}`;
      addresses.push(shown);
      logger.info("KBS listening", { address: shown });
    }
  } catch (err) {
    await shutdown();
    throw err;
  }
  return { kbs, addresses, shutdown };
}
