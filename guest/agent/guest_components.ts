/**
 * Init-data and the guest components started in the agent's own process (spec/runtime.md
 * §3.6): the init-data disk is read and checked against the TEE's init-data register using the
 * attester the AA uses, its files are written under `/run/confidential-containers/initdata/`,
 * then the AA (with `aa.toml` and the init-data TOML) and the CDH (with `cdh.toml`) serve their
 * usual sockets, and api-server-rest listens on 127.0.0.1:8006 with the APIs
 * `agent.guest_components_rest_api` names (resource by default). `agent.guest_components_procs` chooses how many roles start, as upstream.
 *
 * Failure policy: when init-data is present it must verify and the roles it configures must
 * start, or the agent does not start (fail closed). Without init-data, a guest with no usable
 * TEE runs without AA/CDH (logged): plain images still pull; `kbs:///` resources fail clearly.
 */
import type { Logger } from "@coco/lib/log";
import { type AttesterConfig, createAttester, resolveAttesterConfig } from "../attester/mod.ts";
import { defaultAaConfig, loadAaConfig } from "../attestation_agent/mod.ts";
import { DEFAULT_AA_SOCKET } from "../attestation_agent/config.ts";
import { loadCdhConfig } from "../cdh/mod.ts";
import { DEFAULT_CDH_SOCKET } from "../cdh/config.ts";
import { DEFAULT_ASR_BIND, startApiServerRest } from "../api_server_rest/mod.ts";
import { type RunningRole, startAa, startCdh } from "../roles/mod.ts";
import type { AgentConfig } from "./config.ts";
import {
  type AppliedInitData,
  applyInitData,
  evidenceBinding,
  readInitDataFromDevices,
} from "./initdata.ts";

/** Where init-data files go. */
export const INITDATA_DIR = "/run/confidential-containers/initdata";

/** What started. */
export interface GuestComponents {
  initData?: AppliedInitData;
  /** CDH socket address, when the CDH runs. */
  cdhAddress?: string;
  /** api-server-rest URL, when it runs. */
  restUrl?: string;
  roles: RunningRole[];
  close(): Promise<void>;
}

/** Block devices scanned for init-data. */
export async function initDataCandidates(devDir = "/dev"): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(devDir)) {
      if (/^(vd|sd)[a-z]+$/.test(e.name)) out.push(`${devDir}/${e.name}`);
    }
  } catch {
    // no /dev
  }
  return out.sort();
}

/** Options of {@linkcode startGuestComponents}. */
export interface GuestComponentsOptions {
  config: AgentConfig;
  logger: Logger;
  /** Devices to scan (default: /dev/vd*, /dev/sd*). */
  devices?: readonly string[];
  initDataDir?: string;
  /** AA socket (default upstream's). */
  aaSocket?: string;
  /** api-server-rest listen address (default 127.0.0.1:8006, upstream's). */
  restBind?: string;
}

const PROCS_ORDER = ["none", "attestation-agent", "confidential-data-hub", "api-server-rest"];

/** Reads init-data, checks it, and starts the AA and CDH roles in this process. */
export async function startGuestComponents(o: GuestComponentsOptions): Promise<GuestComponents> {
  const { config, logger } = o;
  const toml = await readInitDataFromDevices(o.devices ?? await initDataCandidates());
  const level = PROCS_ORDER.indexOf(config.guestComponentsProcs);
  const roles: RunningRole[] = [];
  const out: GuestComponents = {
    roles,
    async close() {
      for (const r of roles.reverse()) await r.close().catch(() => {});
    },
  };
  if (toml === undefined && level < 1) return out;
  let attesterConfig: AttesterConfig;
  try {
    attesterConfig = await resolveAttesterConfig({ config: config.tee || undefined });
  } catch (err) {
    if (toml !== undefined) throw err;
    logger.warn("no attester: guest components not started", { error: err });
    return out;
  }
  const attester = createAttester(attesterConfig);
  try {
    if (toml !== undefined) {
      const source = {
        tee: attester.tee,
        getEvidence: async (rd: Uint8Array) =>
          new TextEncoder().encode(JSON.stringify(await attester.primaryEvidence(rd))),
      };
      out.initData = await applyInitData(
        toml,
        evidenceBinding(source, logger),
        o.initDataDir ?? INITDATA_DIR,
      );
      logger.info("init-data applied", { dir: out.initData.dir, tee: attester.tee });
    }
    if (level >= 1) {
      const aaConfig = out.initData?.aaToml
        ? await loadAaConfig(out.initData.aaToml)
        : defaultAaConfig();
      roles.push(
        await startAa({
          config: aaConfig,
          socket: o.aaSocket ?? DEFAULT_AA_SOCKET,
          tee: { config: attester.tee },
          logger,
          ...(out.initData ? { initDataToml: out.initData.toml } : {}),
        }),
      );
    }
    if (level >= 2 && out.initData?.cdhToml) {
      const cdh = await startCdh({ config: await loadCdhConfig(out.initData.cdhToml), logger });
      roles.push(cdh);
      out.cdhAddress = cdh.address;
    } else if (level >= 2) {
      logger.warn("no cdh.toml in init-data: the CDH is not started");
    }
    if (level >= 3) {
      const asr = await startApiServerRest({
        bind: o.restBind ?? DEFAULT_ASR_BIND,
        features: config.guestComponentsRestApi,
        aaAddr: roles[0]!.address,
        cdhAddr: out.cdhAddress ?? DEFAULT_CDH_SOCKET,
        logger: logger.child({ role: "api-server-rest" }),
      });
      roles.push({ address: asr.url, close: () => asr.close() });
      out.restUrl = asr.url;
      logger.info("api-server-rest listening", {
        url: asr.url,
        features: config.guestComponentsRestApi,
      });
    }
  } catch (err) {
    await out.close();
    throw err;
  }
  return out;
}
