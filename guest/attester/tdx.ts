/**
 * TDX attester: the quote comes from Linux configfs-tsm (`/sys/kernel/config/tsm/report`:
 * make an entry, check `provider` is `tdx_guest`, write the 64-byte report data to `inblob`,
 * read `outblob`, check `generation` did not move, remove the entry; shared with SNP in tsm.ts), and the CC event log from the
 * ACPI CCEL data (`/sys/firmware/acpi/tables/data/CCEL`, trimmed after its last event) plus the
 * AA event log, ended by 8×0xFF (spec/evidence.md §4.1, §6.1). The root directory and the file
 * operations are injectable so tests run against a fake tree.
 */
import { join } from "node:path";
import { aaelOnlyHeader, trimCcelData } from "@coco/lib/eventlog";
import type { EvidenceProvider } from "@coco/lib/tee";
import { concat } from "@coco/lib/bytes";
import { AttesterError } from "./errors.ts";
import { denoTsmFs, TsmError, type TsmFs, tsmReport } from "./tsm.ts";

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

/** The TDX evidence provider: `{"cc_eventlog": b64 | null, "quote": b64}`. */
export function tdxEvidenceProvider(o: TdxAttesterOptions = {}): EvidenceProvider {
  return {
    tee: "tdx",
    additionalTees: [],
    primaryEvidence: async (rd) => ({
      cc_eventlog: await tdxEventLog(o),
      quote: (await tdxQuote(rd, o)).toBase64(),
    }),
    additionalEvidence: () => Promise.resolve(""),
  };
}
