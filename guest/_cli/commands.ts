/** The `coco-guest` subcommands: thin wiring of config files and flags to the roles. */
import { Command, Option } from "@commander-js/extra-typings";
import { aaConfigFromKbcParams, loadAaConfig } from "../attestation_agent/mod.ts";
import { cdhConfigFromKbcParams, loadCdhConfig } from "../cdh/mod.ts";
import {
  DEFAULT_ASR_BIND,
  FEATURES,
  parseFeatures,
  startApiServerRest,
} from "../api_server_rest/mod.ts";
import { loadGuestConfig, startAa, startCdh } from "../roles/mod.ts";
import { announce, type Closable, roleLogger, serveUntilSignal } from "./run.ts";
import { getResourceCommand } from "./get_resource.ts";

const teeOption = () =>
  new Option("--tee <tee>", "attester: tdx, snp, tpm or sample (default: detect)");

function aaCommand() {
  return new Command("aa")
    .description("run the Attestation Agent (ttrpc)")
    .option("-c, --config-file <file>", "aa.toml (TOML, JSON or YAML)")
    .option("-a, --attestation-sock <uri>", "listen address (unix:///… or vsock://…)")
    .addOption(teeOption())
    .option("-t, --initdata-toml <file>", "init-data TOML sent with every KBS attestation")
    .action(async (o) => {
      const config = o.configFile
        ? await loadAaConfig(o.configFile)
        : aaConfigFromKbcParams(Deno.env.get("AA_KBC_PARAMS"));
      const logger = roleLogger(config.log.level);
      const aa = await startAa({
        config,
        logger,
        tee: { flag: o.tee },
        ...(o.attestationSock ? { socket: o.attestationSock } : {}),
        ...(o.initdataToml ? { initDataToml: o.initdataToml } : {}),
      });
      announce("aa", aa.address);
      await serveUntilSignal(logger, [aa]);
    });
}

function cdhCommand() {
  return new Command("cdh")
    .description("run the Confidential Data Hub (ttrpc)")
    .option("-c, --config <file>", "cdh.toml (TOML, JSON or YAML)")
    .action(async (o) => {
      const config = o.config
        ? await loadCdhConfig(o.config)
        : cdhConfigFromKbcParams(Deno.env.get("AA_KBC_PARAMS"));
      const logger = roleLogger(config.log.level);
      const cdh = await startCdh({ config, logger });
      announce("cdh", cdh.address);
      await serveUntilSignal(logger, [cdh]);
    });
}

function asrCommand() {
  return new Command("api-server-rest")
    .description("run the loopback REST API in front of the AA and the CDH")
    .option("-b, --bind <host:port>", "listen address (port 0 picks one)", DEFAULT_ASR_BIND)
    .addOption(
      new Option("-f, --features <features>", "exposed APIs").choices(FEATURES).default("resource"),
    )
    .option("--aa-addr <uri>", "AA ttrpc address")
    .option("--cdh-addr <uri>", "CDH ttrpc address")
    .action(async (o) => {
      const logger = roleLogger("info").child({ role: "api-server-rest" });
      const asr = await startApiServerRest({
        bind: o.bind,
        features: parseFeatures(o.features),
        logger,
        ...(o.aaAddr ? { aaAddr: o.aaAddr } : {}),
        ...(o.cdhAddr ? { cdhAddr: o.cdhAddr } : {}),
      });
      announce("api-server-rest", asr.url);
      await serveUntilSignal(logger, [asr]);
    });
}

function allCommand() {
  return new Command("all")
    .description("run AA, CDH and api-server-rest in one process, each on its own socket")
    .requiredOption("--config <file>", "guest.toml")
    .addOption(teeOption())
    .option("-t, --initdata-toml <file>", "init-data TOML for the AA")
    .action(async (o) => {
      const config = await loadGuestConfig(o.config);
      const logger = roleLogger(config.aa.log.level);
      const parts: Closable[] = [];
      try {
        const aa = await startAa({
          config: config.aa,
          socket: config.aa.socket,
          logger,
          tee: { flag: o.tee, config: config.tee },
          ...(o.initdataToml ? { initDataToml: o.initdataToml } : {}),
        });
        parts.push(aa);
        announce("aa", aa.address);
        const cdh = await startCdh({ config: config.cdh, logger });
        parts.push(cdh);
        announce("cdh", cdh.address);
        const asr = await startApiServerRest({
          bind: config.apiServerRest.bind,
          features: config.apiServerRest.features,
          aaAddr: aa.address,
          cdhAddr: cdh.address,
          logger: logger.child({ role: "api-server-rest" }),
        });
        parts.push(asr);
        announce("api-server-rest", asr.url);
      } catch (err) {
        for (const p of parts.reverse()) await p.close().catch(() => {});
        throw err;
      }
      await serveUntilSignal(logger, parts);
    });
}

/** The `coco-guest` program. */
export function guestProgram(): Command {
  const program = new Command("coco-guest")
    .description("CoCo Deno guest components: attestation agent, confidential data hub, REST API")
    .version("0.1.0")
    .showHelpAfterError();
  program.addCommand(aaCommand());
  program.addCommand(cdhCommand());
  program.addCommand(asrCommand());
  program.addCommand(allCommand());
  program.addCommand(getResourceCommand());
  return program;
}
