/**
 * The `tpm` attester (spec/guest.md §1.3-1.4, upstream `attester/src/tpm`): quotes SHA-256 PCRs
 * 0-23 with an attestation key, the report data (resized to 64 bytes, as upstream) as the
 * qualifying data, and returns `{"ak_public", "tpm_quote": {signature, message, pcrs}}` plus
 * `"event_log"` when the firmware event log is readable. The AK is the persistent key at
 * `akHandle` when given, else a primary restricted RSA signing key created from the AK
 * template in the endorsement hierarchy (deterministic per TPM, so its public key can be
 * registered with the trustee once) and flushed after use.
 */
import { AttesterError } from "./errors.ts";
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual, concat } from "@coco/lib/bytes";
import { ALG_SHA256 } from "@coco/lib/eventlog";
import {
  akTemplate,
  allPcrs,
  type LoadedKey,
  parseQuoteAttest,
  pcrDigest,
  rcBase,
  TPM_ALG,
  TPM_RH,
  TPMA_OBJECT,
  TpmClient,
  TpmError,
  tpmPublicToSpki,
  type TpmTarget,
} from "@coco/lib/tee/tpm";
import { readIfPresent } from "./sample.ts";
import {
  type Attester,
  type InitDataBinding,
  InitDataBindingError,
  type RuntimeRegisters,
} from "./types.ts";

/** Default firmware event log exposed by the kernel. */
export const TPM_EVENT_LOG_PATH = "/sys/kernel/security/tpm0/binary_bios_measurements";
/** Upstream's default persistent AK handle (`AA_TPM_AK_HANDLE`). */
export const DEFAULT_AK_HANDLE = 0x81010002;
/** PCR extended with the init-data digest. */
export const INIT_DATA_PCR = 8;

/** Options of the `tpm` attester. */
export interface TpmAttesterOptions {
  /** Device or swtpm socket; default `/dev/tpmrm0`. */
  target?: TpmTarget;
  /** Persistent AK handle; when absent a primary AK is created per quote. */
  akHandle?: number;
  /** Firmware event log path; `null` disables it. Default {@linkcode TPM_EVENT_LOG_PATH}. */
  eventLogPath?: string | null;
  /** AA event log sent as `aa_eventlog`; `null` leaves it out. Default none. */
  aaelPath?: string | null;
  /** Send TPM2_Startup first (needed for a fresh swtpm). Default: only for socket targets. */
  startup?: boolean;
}

const TPM_RC_SIZE = 0x95;

/** Resizes (zero-pads or truncates) report data to `n` bytes. */
export function resizeReportData(rd: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(rd.subarray(0, n));
  return out;
}

/** TPM evidence producer; also extends PCRs for init-data and runtime measurements. */
export class TpmAttester implements Attester {
  readonly tee = "tpm" as const;
  readonly additionalTees = [] as const;
  readonly #opts: TpmAttesterOptions;
  readonly #target: TpmTarget;

  constructor(options: TpmAttesterOptions = {}) {
    this.#opts = options;
    this.#target = options.target ?? { device: "/dev/tpmrm0" };
  }

  async #withTpm<T>(fn: (tpm: TpmClient) => Promise<T>): Promise<T> {
    const tpm = await TpmClient.open(this.#target);
    try {
      if (this.#opts.startup ?? !("device" in this.#target)) await tpm.startup();
      return await fn(tpm);
    } finally {
      tpm.close();
    }
  }

  async #loadAk(tpm: TpmClient): Promise<{ key: LoadedKey; transient: boolean }> {
    if (this.#opts.akHandle !== undefined) {
      const key = await tpm.readPublic(this.#opts.akHandle);
      const need = TPMA_OBJECT.sign | TPMA_OBJECT.restricted;
      if ((key.public.attributes & need) !== need) {
        throw new TpmError(
          "unsupported",
          `Cannot quote with AK 0x${this.#opts.akHandle.toString(16)}: not a restricted ` +
            "signing key",
        );
      }
      return { key, transient: false };
    }
    return { key: await tpm.createPrimary(TPM_RH.ENDORSEMENT, akTemplate("rsa")), transient: true };
  }

  /** DER SubjectPublicKeyInfo of the AK (what a trustee must list as trusted). */
  akPublic(): Promise<Uint8Array> {
    return this.#withTpm(async (tpm) => {
      const { key, transient } = await this.#loadAk(tpm);
      try {
        return await tpmPublicToSpki(key.public);
      } finally {
        if (transient) await tpm.flushContext(key.handle);
      }
    });
  }

  async primaryEvidence(reportData: Uint8Array): Promise<JsonValue> {
    const evidence = await this.#withTpm(async (tpm) => {
      const { key, transient } = await this.#loadAk(tpm);
      try {
        const scheme = key.public.type === "rsa"
          ? { alg: TPM_ALG.RSASSA, hash: TPM_ALG.SHA256 }
          : { alg: TPM_ALG.ECDSA, hash: TPM_ALG.SHA256 };
        const { quote, pcrs } = await quoteConsistent(tpm, key.handle, reportData, scheme);
        return {
          ak_public: (await tpmPublicToSpki(key.public)).toBase64(),
          tpm_quote: {
            signature: quote.signatureBytes.toBase64(),
            message: quote.attest.toBase64(),
            pcrs: pcrs.map((p) => p.toHex()),
          },
        } as Record<string, JsonValue>;
      } finally {
        if (transient) await tpm.flushContext(key.handle);
      }
    });
    const log = await this.#eventLog();
    if (log) evidence.event_log = log.toBase64();
    const aael = this.#opts.aaelPath ? await readIfPresent(this.#opts.aaelPath) : undefined;
    if (aael) evidence.aa_eventlog = aael.toBase64();
    return evidence;
  }

  additionalEvidence(): Promise<string> {
    return Promise.resolve("");
  }

  async #eventLog(): Promise<Uint8Array | undefined> {
    const path = this.#opts.eventLogPath === undefined
      ? TPM_EVENT_LOG_PATH
      : this.#opts.eventLogPath;
    if (path === null) return undefined;
    try {
      return await Deno.readFile(path);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return undefined;
      throw err;
    }
  }

  /** Extends SHA-256 `pcr` with a 32-byte digest (runtime measurement). */
  extendPcr(pcr: number, digest: Uint8Array): Promise<void> {
    return this.#withTpm((tpm) => tpm.pcrExtend(pcr, TPM_ALG.SHA256, digest));
  }

  /**
   * Binds init-data in PCR 8 as upstream (one extend from zero with the 32-byte digest), but
   * idempotently: a PCR 8 that already holds exactly that value is a match (an AA restart), and
   * a PCR 8 holding anything else is a mismatch instead of a second extend.
   */
  async bindInitData(digest: Uint8Array): Promise<InitDataBinding> {
    const d = resizeReportData(digest, 32);
    const bound = new Uint8Array(
      await crypto.subtle.digest("SHA-256", concat(new Uint8Array(32), d)),
    );
    const now = await this.readPcr(INIT_DATA_PCR);
    if (bytesEqual(now, bound)) return { status: "matched", field: "PCR8" };
    if (!now.every((b) => b === 0)) {
      throw new InitDataBindingError(
        "init-data-mismatch",
        `Init-data digest ${d.toHex()} cannot be bound: TPM PCR 8 is ${now.toHex()}, expected ` +
          `zero or ${bound.toHex()}`,
      );
    }
    await this.extendPcr(INIT_DATA_PCR, d);
    return { status: "extended", field: "PCR8" };
  }

  /** SHA-256 PCRs as runtime-measurement registers (the AAEL names the PCR itself). */
  readonly registers: RuntimeRegisters = {
    algId: ALG_SHA256,
    supported: () => Promise.resolve(true),
    logIndex: (pcr) => pcr,
    extend: (pcr, digest) => {
      // PCRs 17–22 belong to the dynamic root of trust: only locality 4 can extend them, and
      // the TPM answers TPM_RC_LOCALITY. Say what to change instead of passing that on.
      if (pcr >= 17 && pcr <= 22) {
        return Promise.reject(
          new AttesterError(
            "bad-tpm-config",
            `TPM PCR ${pcr} can only be extended from locality 4 (DRTM); set ` +
              "eventlog_config.init_pcr (or the RegisterIndex) to a PCR in 0–16 or 23",
          ),
        );
      }
      return this.extendPcr(pcr, resizeReportData(digest, 32));
    },
    read: (pcr) => this.readPcr(pcr),
  };

  /** Current SHA-256 PCR value. */
  readPcr(pcr: number): Promise<Uint8Array> {
    return this.#withTpm(async (tpm) => (await tpm.pcrRead(TPM_ALG.SHA256, [pcr])).get(pcr)!);
  }
}

/**
 * Quotes, then reads the PCRs, retrying when a PCR changed in between (the read values must
 * hash to the quoted digest). Falls back from 64-byte to 48- and 32-byte qualifying data on TPMs
 * whose TPM2B_DATA is smaller (TPM_RC_SIZE); `sizes` overrides that list (the Azure attesters
 * pass `[reportData.length]` to quote the report data unchanged).
 */
export async function quoteConsistent(
  tpm: Pick<TpmClient, "quote" | "readAllPcrs">,
  handle: number,
  reportData: Uint8Array,
  scheme: { alg: number; hash: number },
  sizes: readonly number[] = [64, 48, 32],
) {
  const sel = allPcrs(TPM_ALG.SHA256);
  for (let attempt = 0; attempt < 3; attempt++) {
    const quote = await quoteWithNonce(tpm, handle, reportData, scheme, sel, sizes);
    const pcrs = await tpm.readAllPcrs(TPM_ALG.SHA256);
    const digest = await pcrDigest(TPM_ALG.SHA256, pcrs);
    if (digest.toHex() === parseQuoteAttest(quote.attest).pcrDigest.toHex()) {
      return { quote, pcrs };
    }
  }
  throw new TpmError("tpm-response", "Cannot quote: the PCRs kept changing during the quote");
}

async function quoteWithNonce(
  tpm: Pick<TpmClient, "quote">,
  handle: number,
  reportData: Uint8Array,
  scheme: { alg: number; hash: number },
  sel: ReturnType<typeof allPcrs>,
  sizes: readonly number[],
) {
  for (const size of sizes) {
    try {
      return await tpm.quote(handle, resizeReportData(reportData, size), scheme, sel);
    } catch (err) {
      if (!(err instanceof TpmError) || err.rc === undefined || rcBase(err.rc) !== TPM_RC_SIZE) {
        throw err;
      }
    }
  }
  throw new TpmError(
    "unsupported",
    `Cannot quote: the TPM accepts no qualifying data of ${sizes.at(-1)} bytes`,
  );
}
