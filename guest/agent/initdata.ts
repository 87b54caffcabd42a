/**
 * Init-data as kata delivers it (spec/runtime.md §3.6): a raw block device in the format of
 * `@coco/lib/initdata` (`decodeInitDataDisk`). The agent finds the device, unpacks the TOML,
 * checks its digest against the TEE's init-data register through an {@linkcode InitDataBinding}
 * (by default: evidence from the in-process AA, see {@linkcode evidenceBinding}), and writes
 * `initdata.toml`, `aa.toml`, `cdh.toml` under `/run/confidential-containers/initdata/`.
 */
import { join } from "node:path";
import { timingSafeEqual } from "node:crypto";
import {
  decodeInitDataDisk,
  digestForField,
  hasInitDataMagic,
  type InitData,
  initDataDigest,
  MAX_INIT_DATA_BYTES,
  parseInitDataToml,
} from "@coco/lib/initdata";
import type { Logger } from "@coco/lib/log";
import { parseSnpEvidence } from "@coco/lib/tee/snp";
import { parseTdxQuote } from "@coco/lib/tee/tdx";
import { obj, str } from "@coco/lib/json/fields";
import { agentError } from "./errors.ts";

/** Checks an init-data digest against the hardware measurement (host-data, mrconfigid). */
export interface InitDataBinding {
  check(digest: Uint8Array, init: InitData): Promise<void>;
}

/** Where a binding gets evidence: the AA's `getEvidence` and its TEE name. */
export interface EvidenceSource {
  readonly tee: string;
  getEvidence(runtimeData: Uint8Array): Promise<Uint8Array>;
}

/** The init-data field a TEE's evidence carries, or undefined when it has none. */
export function initDataField(tee: string, evidence: unknown): Uint8Array | undefined {
  switch (tee) {
    case "snp":
      return parseSnpEvidence(evidence).report.host_data;
    case "tdx": {
      const quote = str(obj(evidence, "tdx evidence").quote, "quote");
      return parseTdxQuote(Uint8Array.fromBase64(quote)).body.mrConfigId;
    }
    default:
      return undefined;
  }
}

/**
 * Binding through TEE evidence: asks `source` (the in-process AA) for fresh evidence and compares
 * the init-data register — SNP `host_data` (32 bytes), TDX `mrconfigid` (48) — with the digest,
 * padded as the host laid it out. TEEs without such a register (the sample TEE, a vTPM) cannot
 * be checked here: the AA sends the init-data with every attestation and the trustee compares
 * it; that is logged, not silently passed.
 */
export function evidenceBinding(source: EvidenceSource, logger: Logger): InitDataBinding {
  return {
    async check(digest) {
      const raw = await source.getEvidence(crypto.getRandomValues(new Uint8Array(32)));
      const field = initDataField(source.tee, JSON.parse(new TextDecoder().decode(raw)));
      if (field === undefined) {
        logger.warn("init-data not bound by this TEE; the trustee checks it at attestation", {
          tee: source.tee,
        });
        return;
      }
      const want = digestForField(digest, field.length as 32 | 48 | 64);
      if (field.length !== want.length || !timingSafeEqual(field, want)) {
        throw agentError(
          "permission-denied",
          `init-data digest does not match the ${source.tee} init-data register`,
        );
      }
    },
  };
}

async function readHead(dev: string, n: number): Promise<Uint8Array | undefined> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(dev, { read: true });
  } catch {
    return undefined;
  }
  try {
    const buf = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const r = await f.read(buf.subarray(at));
      if (r === null || r === 0) break;
      at += r;
    }
    return buf.subarray(0, at);
  } finally {
    f.close();
  }
}

/**
 * Scans candidate block devices for the init-data magic; returns the first TOML found. A device
 * with the magic but a corrupt payload is an error (it is the init-data disk, and it is bad).
 */
export async function readInitDataFromDevices(
  devices: readonly string[],
): Promise<string | undefined> {
  for (const dev of devices) {
    const head = await readHead(dev, 16);
    if (!head || head.length < 16 || !hasInitDataMagic(head)) continue;
    const len = new DataView(head.buffer, head.byteOffset, 16).getBigUint64(8, true);
    try {
      // An absurd length is refused by the decoder from the header alone.
      const size = len > BigInt(MAX_INIT_DATA_BYTES) ? 16 : 16 + Number(len);
      return await decodeInitDataDisk((await readHead(dev, size)) ?? head);
    } catch (err) {
      throw agentError("invalid-argument", `init-data disk ${dev}: ${(err as Error).message}`, err);
    }
  }
  return undefined;
}

/** Files extracted from init-data. */
export interface AppliedInitData {
  dir: string;
  toml: string;
  aaToml?: string;
  cdhToml?: string;
  policy?: string;
}

/** Parses, checks the binding, and writes the init-data files into `dir`. */
export async function applyInitData(
  toml: string,
  binding: InitDataBinding,
  dir: string,
): Promise<AppliedInitData> {
  const init = parseInitDataToml(toml);
  if (init.version !== "0.1.0") {
    throw agentError("invalid-argument", `init-data version "${init.version}" is not 0.1.0`);
  }
  await binding.check(initDataDigest(toml, init.algorithm), init);
  await Deno.mkdir(dir, { recursive: true });
  const out: AppliedInitData = { dir, toml: join(dir, "initdata.toml") };
  await Deno.writeTextFile(out.toml, toml);
  const write = async (key: string) => {
    const v = init.data[key];
    if (v === undefined) return undefined;
    const p = join(dir, key);
    await Deno.writeTextFile(p, v);
    return p;
  };
  const aa = await write("aa.toml");
  const cdh = await write("cdh.toml");
  if (aa) out.aaToml = aa;
  if (cdh) out.cdhToml = cdh;
  if (init.data["policy.rego"] !== undefined) out.policy = init.data["policy.rego"];
  return out;
}
