/**
 * TDX attester: the quote comes from Linux configfs-tsm (`/sys/kernel/config/tsm/report`:
 * make an entry, check `provider` is `tdx_guest`, write the 64-byte report data to `inblob`,
 * read `outblob`, check `generation` did not move, remove the entry; shared with SNP in tsm.ts), and the CC event log from the
 * ACPI CCEL data (`/sys/firmware/acpi/tables/data/CCEL`, trimmed after its last event) plus the
 * AA event log, ended by 8×0xFF (spec/evidence.md §4.1, §6.1). The root directory and the file
 * operations are injectable so tests run against a fake tree.
 */
import { join } from "node:path";
import { aaelOnlyHeader, ALG_SHA384, trimCcelData } from "@coco/lib/eventlog";
import { parseTdxQuote } from "@coco/lib/tee/tdx";
import { bytesEqual, concat, regularize } from "@coco/lib/bytes";
import { AttesterError } from "./errors.ts";
import { denoTsmFs, TsmError, type TsmFs, tsmReport } from "./tsm.ts";
import {
  type Attester,
  type InitDataBinding,
  InitDataBindingError,
  type RuntimeRegisters,
} from "./types.ts";

export { denoTsmFs, type TsmFs } from "./tsm.ts";

/** Where the attester looks. */
export interface TdxAttesterOptions {
  /** Prefix of every system path (default "/"). */
  root?: string;
  /** AA event log (default /run/attestation-agent/eventlog, under `root`). */
  aaelPath?: string;
  fs?: TsmFs;
}

async function readOptional(fs: TsmFs, path: string): Promise<Uint8Array | undefined> {
  try {
    return await fs.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** Gets a TD quote for `reportData` (≤ 64 bytes, zero-padded) through configfs-tsm. */
export async function tdxQuote(
  reportData: Uint8Array,
  o: TdxAttesterOptions = {},
): Promise<Uint8Array> {
  if (reportData.length > 64) {
    throw new AttesterError(
      "unsupported-tee",
      `Cannot get TDX quote: report data is ${reportData.length} bytes, at most 64`,
    );
  }
  const inblob = new Uint8Array(64);
  inblob.set(reportData);
  try {
    const { outblob } = await tsmReport({
      root: join(o.root ?? "/", "sys/kernel/config/tsm/report"),
      provider: "tdx_guest",
      inblob,
      fs: o.fs,
      what: "TDX quote",
    });
    return outblob;
  } catch (err) {
    if (err instanceof TsmError) throw new AttesterError("no-tee", err.message, { cause: err });
    throw err;
  }
}

/** The `cc_eventlog` value: trimmed CCEL + AAEL + 8×0xFF, base64; null when neither exists. */
export async function tdxEventLog(o: TdxAttesterOptions = {}): Promise<string | null> {
  const fs = o.fs ?? denoTsmFs;
  const root = o.root ?? "/";
  const ccel = await readOptional(fs, join(root, "sys/firmware/acpi/tables/data/CCEL"));
  const aael = await readOptional(fs, o.aaelPath ?? join(root, "run/attestation-agent/eventlog"));
  if (!ccel && !aael) return null;
  const parts: Uint8Array[] = [];
  if (ccel) parts.push(trimCcelData(ccel));
  else parts.push(aaelOnlyHeader());
  if (aael) parts.push(aael);
  parts.push(new Uint8Array(8).fill(0xff));
  return concat(...parts).toBase64();
}

/** Kernel (≥ 6.16) TDX measurement files: `mrconfigid`, `rtmr<N>:sha384`. */
export const TDX_MEASUREMENTS_DIR = "sys/devices/virtual/misc/tdx_guest/measurements";

/** CC measurement register for a PCR index (spec/guest.md §1.6); RTMR = CC-MR − 1. */
export function tdxCcMrOfPcr(pcr: number): number {
  if (pcr === 1 || pcr === 7) return 1;
  if (pcr >= 2 && pcr <= 6) return 2;
  if (pcr >= 8 && pcr <= 15) return 3;
  return 4;
}

/** MRCONFIGID from the kernel's measurement file, else from a quote over zero report data. */
export async function tdxMrConfigId(o: TdxAttesterOptions = {}): Promise<Uint8Array> {
  const fs = o.fs ?? denoTsmFs;
  const file = await readOptional(fs, join(o.root ?? "/", TDX_MEASUREMENTS_DIR, "mrconfigid"));
  if (file && file.length >= 48) return file.subarray(0, 48);
  return parseTdxQuote(await tdxQuote(new Uint8Array(64), o)).body.mrConfigId;
}

/** RTMRs through `/sys/devices/virtual/misc/tdx_guest/measurements/rtmr<N>:sha384`. */
function tdxRegisters(o: TdxAttesterOptions): RuntimeRegisters {
  const fs = o.fs ?? denoTsmFs;
  const file = (pcr: number) =>
    join(o.root ?? "/", TDX_MEASUREMENTS_DIR, `rtmr${tdxCcMrOfPcr(pcr) - 1}:sha384`);
  return {
    algId: ALG_SHA384,
    supported: async () => (await readOptional(fs, file(17))) !== undefined,
    logIndex: tdxCcMrOfPcr,
    extend: (pcr, digest) => fs.writeFile(file(pcr), regularize(digest, 48)),
    read: async (pcr) => (await readOptional(fs, file(pcr)))?.subarray(0, 48),
  };
}

/** The TDX attester: `{"cc_eventlog": b64 | null, "quote": b64}`, MRCONFIGID, RTMRs. */
export function tdxAttester(o: TdxAttesterOptions = {}): Attester {
  return {
    tee: "tdx",
    additionalTees: [],
    primaryEvidence: async (rd) => ({
      cc_eventlog: await tdxEventLog(o),
      quote: (await tdxQuote(rd, o)).toBase64(),
    }),
    additionalEvidence: () => Promise.resolve(""),
    async bindInitData(digest): Promise<InitDataBinding> {
      let mr: Uint8Array;
      try {
        mr = await tdxMrConfigId(o);
      } catch (err) {
        throw new InitDataBindingError(
          "init-data-unavailable",
          `Cannot check init-data: cannot read TDX MRCONFIGID: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (!bytesEqual(mr, regularize(digest, 48))) {
        throw new InitDataBindingError(
          "init-data-mismatch",
          `Init-data digest ${digest.toHex()} does not match TDX MRCONFIGID ${mr.toHex()}`,
        );
      }
      return { status: "matched", field: "MRCONFIGID" };
    },
    registers: tdxRegisters(o),
  };
}

/** The TDX evidence provider (same as {@linkcode tdxAttester}). */
export const tdxEvidenceProvider = tdxAttester;
