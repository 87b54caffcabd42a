/**
 * `coco-guest agent`: resolves the configuration (flags, `--config`, kernel command line,
 * environment), runs PID-1 duties when it is init, loads init-data, and serves the agent.
 * Prints `agent listening on <address>` when ready. Exits 0 after DestroySandbox (as PID 1 it
 * powers the VM off instead) or on SIGINT/SIGTERM.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { createLogger } from "@coco/lib/log";
import { resolveAgentConfig } from "./config.ts";
import { type GuestComponents, startGuestComponents } from "./guest_components.ts";
import { runAsInit, shouldRunAsInit } from "./pid1.ts";
import { startAgent } from "./start.ts";

const enc = new TextEncoder();

/** The `agent` subcommand. */
export function agentCommand() {
  return new Command("agent")
    .description("run the kata-compatible agent (grpc.AgentService over ttrpc)")
    .option("-c, --config <file>", "agent config TOML")
    .option("--server-addr <uri>", "unix:///path, vsock://-1:1024 or serial://agent.channel.0")
    .option("--policy-file <file>", "agent policy (Rego)")
    .addOption(
      new Option("--init-mode <mode>", "PID-1 duties: auto (iff pid 1), always, never")
        .choices(["auto", "always", "never"] as const).default("auto" as const),
    )
    .action(async (o) => {
      const cmdline = await Deno.readTextFile("/proc/cmdline").catch(() => "");
      let config = await resolveAgentConfig({
        ...(o.config ? { file: o.config } : {}),
        cmdline,
        env: (n) => Deno.env.get(n),
      });
      if (o.serverAddr) config = { ...config, serverAddr: o.serverAddr };
      if (o.policyFile) config = { ...config, policyFile: o.policyFile };
      const logger = createLogger({ level: config.logLevel }).child({ role: "agent" });
      const asInit = shouldRunAsInit({ pid: Deno.pid, mode: o.initMode });
      const init = asInit ? await runAsInit({ logger, cmdline }) : undefined;
      let components: GuestComponents | undefined;
      try {
        components = asInit ? await startGuestComponents({ config, logger }) : undefined;
      } catch (err) {
        logger.error("guest components failed; the agent does not start", { error: err });
        if (init) init.powerOff();
        throw err;
      }
      const initData = components?.initData;
      const cdhToml = initData?.cdhToml ? await Deno.readTextFile(initData.cdhToml) : undefined;
      const agent = await startAgent({
        config: components?.cdhAddress ? { ...config, cdhSocket: components.cdhAddress } : config,
        logger,
        initDaemon: asInit,
        ...(initData?.policy !== undefined ? { initDataPolicy: initData.policy } : {}),
        ...(cdhToml !== undefined ? { cdhToml } : {}),
      });
      Deno.stdout.writeSync(enc.encode(`agent listening on ${agent.address}\n`));
      const stop = () => agent.close();
      for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stop);
      await agent.destroyed;
      await agent.close();
      await components?.close();
      if (init) init.powerOff();
      Deno.exit(0);
    });
}
