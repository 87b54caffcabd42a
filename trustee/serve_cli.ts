/**
 * `trustee serve`: runs the all-in-one trustee (KBS + built-in AS + RVPS). With no config file it
 * uses a local data directory (printed), insecure HTTP on 127.0.0.1:8080, and bearer-JWT admin
 * authorization with a generated Ed25519 key; the minted admin token is written beside it.
 */
import { Command } from "@commander-js/extra-typings";
import { pathExists } from "@coco/lib/fs";
import { createLogger, type Logger } from "@coco/lib/log";
import { generateAdminKeyPair, mintAdminToken } from "./admin/mod.ts";
import { type KbsConfig, loadKbsConfig, parseKbsConfig } from "./kbs/config.ts";
import { serveKbs } from "./kbs/server.ts";
import { samplePolicy } from "./kbs/resource_policy.ts";

export function trusteeHome(): string {
  return Deno.env.get("TRUSTEE_HOME") ?? `${Deno.env.get("HOME") ?? "."}/.trustee`;
}

/** The no-config default: everything under `home`. */
async function defaultConfig(home: string, socket: string, logger: Logger): Promise<KbsConfig> {
  await Deno.mkdir(home, { recursive: true, mode: 0o700 });
  const keyFile = `${home}/admin-key.pem`;
  const pubFile = `${home}/admin-key.pub`;
  if (!(await pathExists(keyFile))) {
    const pair = await generateAdminKeyPair();
    await Deno.writeTextFile(keyFile, pair.privateKeyPem, { mode: 0o600 });
    await Deno.writeTextFile(pubFile, pair.publicKeyPem);
    const token = await mintAdminToken(pair.privateKeyPem, {
      role: "admin",
      issuer: "trustee",
      ttlSeconds: 3650 * 86400,
    });
    await Deno.writeTextFile(`${home}/admin-token`, token + "\n", { mode: 0o600 });
  }
  logger.info("no config given: using the local data directory", {
    home,
    adminToken: `${home}/admin-token`,
  });
  return parseKbsConfig({
    http_server: { sockets: [socket], insecure_http: true },
    admin: {
      authorization_mode: "AuthenticatedAuthorization",
      authentication: {
        bearer_jwt: { identity_providers: [{ issuer: "trustee", public_key_uri: pubFile }] },
      },
      authorization: { regex_acl: { acls: [{ role: "admin", allowed_endpoints: "^/kbs/.+$" }] } },
    },
    storage_backend: {
      storage_type: "LocalFs",
      backends: { local_fs: { dir_path: `${home}/storage` } },
    },
  }, "(built-in default config)");
}

/** Socket-level failure codes that npm storage clients can leak as unhandled rejections. */
const SOCKET_FAULTS = new Set(["ECONNRESET", "EPIPE", "ECONNREFUSED", "ETIMEDOUT", "ENOTCONN"]);

/**
 * Keeps a replica alive when a storage client library leaks a socket fault as an unhandled
 * rejection (seen with npm:postgres under Deno when PostgreSQL restarts mid-query: the query
 * itself fails with a proper error, and the same reset also surfaces unhandled). Anything else
 * still crashes the process, as it should.
 */
function survivePeerResets(logger: Logger): void {
  globalThis.addEventListener("unhandledrejection", (e) => {
    const code = (e.reason as { code?: unknown } | undefined)?.code;
    if (typeof code === "string" && SOCKET_FAULTS.has(code)) {
      e.preventDefault();
      logger.warn("storage connection fault (requests using it failed and were answered 503)", {
        error: e.reason,
      });
    }
  });
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("run the trustee (KBS + attestation service + RVPS)")
    .option("-c, --config <file>", "kbs-config.toml (upstream format)")
    .option(
      "--home <dir>",
      "data directory when no config is given (default $TRUSTEE_HOME or ~/.trustee)",
    )
    .option("--socket <host:port>", "listen address when no config is given", "127.0.0.1:8080")
    .option("--allow-all", "replace the resource policy with allow_all (testing only)")
    .option(
      "--self-signed",
      "HTTPS without a configured certificate: generate (once) a self-signed one under --home (development only)",
    )
    .action(async (opts) => {
      const logger = createLogger();
      survivePeerResets(logger);
      const home = opts.home ?? trusteeHome();
      const config = opts.config
        ? await loadKbsConfig(opts.config)
        : await defaultConfig(home, opts.socket, logger);
      const running = await serveKbs(
        config,
        logger,
        opts.selfSigned ? { selfSignedDir: home } : {},
      );
      if (opts.selfSigned) logger.warn("serving with a self-signed certificate (development only)");
      if (opts.allowAll) {
        await running.kbs.deps.resourcePolicy.set(await samplePolicy("allow_all"));
        logger.warn("resource policy replaced with allow_all (--allow-all)");
      }
      for (const a of running.addresses) console.log(`trustee listening on ${a}`);
      const stop = () => {
        logger.warn("shutting down: finishing in-flight requests");
        running.shutdown().then(
          () => Deno.exit(0),
          (err) => {
            logger.error("shutdown failed", { error: err });
            Deno.exit(1);
          },
        );
      };
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
    });
}
