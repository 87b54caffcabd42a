/**
 * {@linkcode AttestationAgent}: the transport-agnostic core behind the AA's ttrpc API.
 *
 * Better than upstream: one {@linkcode KbsClient} (and one TEE key pair) serves every `kbs`
 * GetToken call, so the token is reused while it is valid instead of re-attesting each time.
 */
import { CodedError } from "@coco/lib/errors";
import { generateTeeKeyPair, teeKeyToPem } from "@coco/lib/jose";
import { KbsClient } from "@coco/lib/kbs/client";
import type { Logger } from "@coco/lib/log";
import {
  type Attester,
  DEFAULT_AAEL_PATH,
  type InitDataBinding,
  InitDataBindingError,
} from "../attester/mod.ts";
import type { AaConfig } from "./config.ts";
import { AaEventLog, EventLogWriteError } from "./eventlog.ts";
import { initDataDigestOf } from "./initdata.ts";

/** Why an AA operation failed; the ttrpc layer maps codes to statuses. */
export type AaErrorCode =
  | "unknown-token-type"
  | "not-configured"
  | "bad-request"
  | "upstream"
  /** The init-data digest does not match the hardware value (or it could not be read). */
  | "init-data-mismatch";

/** An AA operation failure. */
export class AaError extends CodedError<AaErrorCode> {}

/**
 * ttrpc metadata key a caller sets to `true` on GetToken when the KBS rejected the previous token:
 * the AA then re-attests instead of returning its cached token. Upstream AAs ignore it (they
 * attest on every call anyway).
 */
export const REFRESH_TOKEN_METADATA = "coco-refresh-token";

/** Result of ExtendRuntimeMeasurement, named as the proto enum. */
export type MeasurementResult = "OK" | "NOT_SUPPORTED" | "NOT_ENABLED";

/** Dependencies of the agent. */
export interface AttestationAgentOptions {
  attester: Attester;
  config: AaConfig;
  /** Init-data TOML text sent with every KBS attestation (and bound by {@linkcode start}). */
  initData?: string;
  /** AA event log file; default env `AAEL_PATH`, else `/run/attestation-agent/eventlog`. */
  aaelPath?: string;
  logger: Logger;
  fetch?: typeof fetch;
}

const enc = new TextEncoder();

/** The AA core. */
export class AttestationAgent {
  readonly #opts: AttestationAgentOptions;
  readonly #eventLog: AaEventLog | undefined;
  #kbs: Promise<KbsClient> | undefined;

  constructor(options: AttestationAgentOptions) {
    this.#opts = options;
    const registers = options.attester.registers;
    if (options.config.eventlog.enableEventlog && registers) {
      const path = options.aaelPath ?? (Deno.env.get("AAEL_PATH") || DEFAULT_AAEL_PATH);
      this.#eventLog = new AaEventLog(path, registers);
    }
  }

  /**
   * Builds the agent and runs the start-up checks: finishes a runtime measurement interrupted by
   * a crash, then binds the init-data (spec/guest.md §8.3). Throws {@linkcode AaError}
   * `init-data-mismatch` when the hardware does not carry the init-data digest: the AA must not
   * serve then.
   */
  static async start(options: AttestationAgentOptions): Promise<AttestationAgent> {
    const agent = new AttestationAgent(options);
    try {
      const recovered = await agent.#eventLog?.recover();
      if (recovered === "recovered") {
        options.logger.warn("finished an interrupted runtime measurement", {
          log: agent.#eventLog?.logPath,
        });
      }
      if (options.initData !== undefined) {
        const { digest, algorithm } = initDataDigestOf(options.initData);
        await agent.checkInitData(digest, algorithm);
      }
    } catch (err) {
      await agent.close();
      throw err;
    }
    return agent;
  }

  /**
   * Checks `digest` against the hardware: SNP HOST_DATA, TDX MRCONFIGID, TPM PCR 8 (extended
   * from zero when still empty). Logs the outcome; the sample TEE only logs a warning.
   *
   * @throws {AaError} `init-data-mismatch` naming both values.
   */
  async checkInitData(digest: Uint8Array, algorithm?: string): Promise<InitDataBinding> {
    let result: InitDataBinding;
    try {
      result = await this.#opts.attester.bindInitData(digest);
    } catch (err) {
      if (!(err instanceof InitDataBindingError)) throw err;
      throw new AaError("init-data-mismatch", err.message, { cause: err });
    }
    const fields = { tee: this.tee, digest: digest.toHex(), ...(algorithm ? { algorithm } : {}) };
    if (result.status === "unsupported") {
      this.#opts.logger.warn(`init-data not bound: ${result.reason}`, fields);
    } else {
      this.#opts.logger.info(`init-data ${result.status} (${result.field})`, fields);
    }
    return result;
  }

  /** Primary TEE name. */
  get tee(): string {
    return this.#opts.attester.tee;
  }

  /** Additional (device) TEE names. */
  get additionalTees(): readonly string[] {
    return this.#opts.attester.additionalTees;
  }

  /** Evidence JSON bytes with `runtimeData` used verbatim as report data. */
  async getEvidence(runtimeData: Uint8Array): Promise<Uint8Array> {
    return enc.encode(JSON.stringify(await this.#opts.attester.primaryEvidence(runtimeData)));
  }

  /** `{ "<tee>": evidence }` JSON bytes from the devices, empty when there are none. */
  async getAdditionalEvidence(runtimeData: Uint8Array): Promise<Uint8Array> {
    return enc.encode(await this.#opts.attester.additionalEvidence(runtimeData));
  }

  /** A token of `tokenType` (`kbs` or `coco_as`); `refresh` forces a new KBS attestation. */
  async getToken(tokenType: string, options: { refresh?: boolean } = {}): Promise<Uint8Array> {
    switch (tokenType) {
      case "kbs":
        return await this.#kbsToken(options.refresh ?? false);
      case "coco_as":
        return await this.#cocoAsToken();
      default:
        throw new AaError(
          "unknown-token-type",
          `Cannot get token: unknown TokenType \`${tokenType}\` (expected kbs or coco_as)`,
        );
    }
  }

  /**
   * Records `<domain> <operation> <content>` in the AA event log and extends its digest into
   * register `registerIndex` (default `eventlog_config.init_pcr`): TDX RTMR, TPM PCR, or only
   * the log for the sample TEE. `NOT_ENABLED` unless `enable_eventlog`; `NOT_SUPPORTED` on
   * platforms without extendable registers (snp, TDX kernels without RTMR files).
   */
  async extendRuntimeMeasurement(
    domain: string,
    operation: string,
    content: string,
    registerIndex?: number,
  ): Promise<MeasurementResult> {
    if (!this.#opts.config.eventlog.enableEventlog) return "NOT_ENABLED";
    if (content.includes("\n")) {
      throw new AaError(
        "bad-request",
        "Cannot extend runtime measurement: Content contains a newline",
      );
    }
    const pcr = registerIndex ?? this.#opts.config.eventlog.initPcr;
    if (!Number.isInteger(pcr) || pcr < 0 || pcr > 23) {
      throw new AaError(
        "bad-request",
        `Cannot extend runtime measurement: RegisterIndex ${pcr} is not 0–23`,
      );
    }
    const log = this.#eventLog;
    if (!log || !await log.registers.supported()) return "NOT_SUPPORTED";
    try {
      await log.extend(domain, operation, content, pcr);
    } catch (err) {
      if (err instanceof EventLogWriteError && err.code === "bad-event") {
        throw new AaError(
          "bad-request",
          `Cannot extend runtime measurement: ${err.message}`,
          { cause: err },
        );
      }
      throw new AaError(
        "upstream",
        `Cannot extend runtime measurement: ${(err as Error).message}`,
        { cause: err },
      );
    }
    return "OK";
  }

  /** Releases the KBS client. */
  async close(): Promise<void> {
    const kbs = this.#kbs;
    this.#kbs = undefined;
    if (kbs) (await kbs.catch(() => undefined))?.close();
  }

  #kbsClient(): Promise<KbsClient> {
    const cfg = this.#opts.config.tokenConfigs.kbs;
    if (!cfg) {
      throw new AaError(
        "not-configured",
        "Cannot get kbs token: no [token_configs.kbs] url in the AA config",
      );
    }
    this.#kbs ??= generateTeeKeyPair(cfg.teeKeyAlgorithm).then((teeKey) =>
      new KbsClient({
        url: cfg.url,
        evidence: this.#opts.attester,
        teeKey,
        ...(cfg.cert ? { caCert: cfg.cert } : {}),
        ...(this.#opts.initData !== undefined ? { initData: this.#opts.initData } : {}),
      })
    );
    return this.#kbs;
  }

  async #kbsToken(refresh: boolean): Promise<Uint8Array> {
    const client = await this.#kbsClient();
    let token: string;
    try {
      token = refresh ? await client.attest() : await client.token();
    } catch (err) {
      throw new AaError("upstream", `Cannot get kbs token: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const pem = teeKeyToPem(await client.teeKey());
    return enc.encode(JSON.stringify({ token, tee_keypair: pem }));
  }

  async #cocoAsToken(): Promise<Uint8Array> {
    const cfg = this.#opts.config.tokenConfigs.cocoAs;
    if (!cfg) {
      throw new AaError(
        "not-configured",
        "Cannot get coco_as token: no [token_configs.coco_as] url in the AA config",
      );
    }
    const evidence = JSON.stringify(await this.#opts.attester.primaryEvidence(new Uint8Array()));
    const body = {
      verification_requests: [{
        tee: this.tee,
        evidence: enc.encode(evidence).toBase64({ alphabet: "base64url", omitPadding: true }),
      }],
      policy_ids: [],
    };
    const url = `${cfg.url}/attestation`;
    let res: Response;
    try {
      res = await (this.#opts.fetch ?? fetch)(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      throw new AaError(
        "upstream",
        `Cannot reach attestation service ${url}: ${(err as Error).message}`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      throw new AaError(
        "upstream",
        `Cannot get coco_as token from ${url}: HTTP ${res.status}: ${text.slice(0, 300)}`,
      );
    }
    return enc.encode(text);
  }
}
