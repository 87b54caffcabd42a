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
    .action(async (opts) => {
      const logger = createLogger();
      const config = opts.config
        ? await loadKbsConfig(opts.config)
        : await defaultConfig(opts.home ?? trusteeHome(), opts.socket, logger);
      const running = await serveKbs(config, logger);
      if (opts.allowAll) {
        await running.kbs.deps.resourcePolicy.set(await samplePolicy("allow_all"));
        logger.warn("resource policy replaced with allow_all (--allow-all)");
      }
      for (const a of running.addresses) console.log(`trustee listening on ${a}`);
      const stop = () => {
        logger.info("shutting down");
        running.shutdown().then(() => Deno.exit(0));
      };
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
    });
}
