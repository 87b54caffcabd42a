/**
 * Wiring and serving the all-in-one trustee: storage, sessions, attestation service, RVPS,
 * policies, admin authorizer and token verifier from one `KbsConfig`, served on every configured
 * socket (HTTP or HTTPS). Logs each bound address (including the port chosen for port 0).
 */
import type { Logger } from "@coco/lib/log";
import { createAdminAuthorizer } from "../admin/mod.ts";
import { AttestationService } from "../attestation_service/service.ts";
import { loadSigner } from "../attestation_service/signer.ts";
import { PolicyEngine } from "../policy/engine.ts";
import { Rvps } from "../rvps/mod.ts";
import { createStorage, type StorageProvider } from "../storage/mod.ts";
import { createKbsApp } from "./app.ts";
import type { KbsConfig } from "./config.ts";
import type { KbsDeps } from "./deps.ts";
import { ResourcePolicy } from "./resource_policy.ts";
import { SessionStore } from "./session.ts";
import { createTokenVerifier } from "./token_verifier.ts";

export interface Kbs {
  deps: KbsDeps;
  fetch: (req: Request) => Response | Promise<Response>;
  close(): Promise<void>;
}

/** Builds a KBS from config (no sockets yet). */
export async function createKbs(
  config: KbsConfig,
  logger: Logger,
  now: () => number = Date.now,
): Promise<Kbs> {
  const storage = createStorage(config.storage_backend);
  const sessionStorage: StorageProvider = config.session_storage === config.storage_backend
    ? storage
    : createStorage(config.session_storage);
  const engine = new PolicyEngine();
  const signer = await loadSigner(config.attestation_service.signer);
  const rvps = new Rvps(storage.namespace("reference_value"), now);
  const as = await AttestationService.create({
    policies: storage.namespace("attestation_service_policy"),
    rvps,
    signer,
    broker: config.attestation_service.broker,
    logger: logger.child({ component: "as" }),
    engine,
    now,
  });
  const resourcePolicy = new ResourcePolicy(storage.namespace("kbs"), engine);
  await resourcePolicy.install();
  const deps: KbsDeps = {
    config,
    sessions: new SessionStore(sessionStorage.namespace("kbs_protocol_session"), now),
    resources: storage.namespace("repository"),
    as,
    rvps,
    tokens: await createTokenVerifier(config.attestation_token, { trustedKeys: [signer.jwk], now }),
    admin: await createAdminAuthorizer(config.admin, { now, logger }),
    resourcePolicy,
    logger,
    now,
  };
  const app = createKbsApp(deps);
  return {
    deps,
    fetch: app.fetch,
    async close() {
      await storage.close();
      if (sessionStorage !== storage) await sessionStorage.close();
    },
  };
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

/** Serves the KBS on every configured socket; sweeps expired sessions every 60 s. */
export async function serveKbs(config: KbsConfig, logger: Logger): Promise<RunningKbs> {
  const kbs = await createKbs(config, logger);
  const http = config.http_server;
  let tls: { cert: string; key: string } | undefined;
  if (!http.insecure_http) {
    if (!http.certificate || !http.private_key) {
      throw new Error(
        `Cannot serve HTTPS: http_server.certificate and http_server.private_key are required in ${config.file} (or set insecure_http = true)`,
      );
    }
    tls = {
      cert: await Deno.readTextFile(http.certificate),
      key: await Deno.readTextFile(http.private_key),
    };
  }
  const servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  const addresses: string[] = [];
  for (const socket of http.sockets) {
    const { hostname, port } = splitSocket(socket);
    const server = Deno.serve({
      hostname,
      port,
      ...(tls ?? {}),
      onListen: () => {},
    }, kbs.fetch);
    servers.push(server);
    const a = server.addr;
    const shown = `${tls ? "https" : "http"}://${
      a.hostname.includes(":") ? `[${a.hostname}]` : a.hostname
    }:${a.port}`;
    addresses.push(shown);
    logger.info("KBS listening", { address: shown });
  }
  const sweep = setInterval(() => {
    kbs.deps.sessions.sweep().catch((err) => logger.warn("session sweep failed", { error: err }));
  }, 60_000);
  return {
    kbs,
    addresses,
    async shutdown() {
      clearInterval(sweep);
      await Promise.all(servers.map((s) => s.shutdown()));
      await kbs.close();
    },
  };
}
