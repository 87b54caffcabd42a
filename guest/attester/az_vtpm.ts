/**
 * The vTPM half of the Azure confidential-VM attesters (spec/evidence.md §7.3-7.5; upstream
 * guest-components `az_snp_vtpm` / `az_tdx_vtpm` over kinvolk's `az-cvm-vtpm`):
 *
 * 1. the report data, zero-padded to 64 bytes, is written to the user-data NV index 0x01400002
 *    (defined with owner read/write if absent, redefined if its size differs, as upstream);
 * 2. the paravisor then regenerates the HCL report in NV index 0x01400001 with that `user-data`
 *    in its variable data, whose SHA-256 the hardware report's REPORTDATA[0..32] carries. Upstream
 *    sleeps 3 s before reading; we read at once and re-read (bounded, default about 3 s) until
 *    `user-data` shows what we wrote (`hcl-stale` otherwise);
 * 3. TPM2_Quote with the vTPM AK 0x81000003 (which must be the HCL's `HCLAkPub`) over SHA-256
 *    PCRs 0-23 with the report data, unchanged, as qualifying data; the PCRs are read back and
 *    must hash to the quoted digest.
 */
import { regularize } from "@coco/lib/bytes";
import {
  AZURE_AK_HANDLE,
  HCL_REPORT_NV_INDEX,
  HCL_USER_DATA_NV_INDEX,
  type HclReport,
  parseHclReport,
  rcBase,
  TPM_ALG,
  TPM_RH,
  type TpmClient,
  TpmError,
  tpmPublicToJwk,
} from "@coco/lib/tee/tpm";
import { quoteConsistent } from "./tpm.ts";
import { AzVtpmError } from "./az_errors.ts";

/** Size of the user data written to NV index 0x01400002. */
export const AZ_USER_DATA_SIZE = 64;
const RC_HANDLE = 0x8b;

/** How long to wait for the paravisor to refresh the HCL report. */
export interface HclRefresh {
  /** Reads of the HCL report before giving up; default 13. */
  attempts?: number;
  /** Pause between reads; default 250 ms. */
  intervalMs?: number;
}

/** The TPM commands the Azure attesters use (a {@linkcode TpmClient}, or a fake in tests). */
export type VtpmOps = Pick<
  TpmClient,
  | "nvReadPublic"
  | "nvDefineSpace"
  | "nvUndefineSpace"
  | "nvWrite"
  | "nvRead"
  | "readPublic"
  | "quote"
  | "readAllPcrs"
>;

/** Called after the user data was written: the test stand-in for Azure's paravisor. */
export type UserDataHook = (tpm: VtpmOps, userData: Uint8Array) => Promise<void>;

/** What the vTPM gave for one report data. */
export interface AzVtpmReading {
  /** The whole HCL report NV index, as sent in `hcl_report`. */
  hclBytes: Uint8Array;
  hcl: HclReport;
  /** `tpm_quote` of evidence v1/v2: hex raw RSA signature, hex TPMS_ATTEST, hex PCRs 0-23. */
  tpmQuote: { signature: string; message: string; pcrs: string[] };
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, "0")}`;
const isHandleError = (err: unknown) =>
  err instanceof TpmError && err.rc !== undefined && rcBase(err.rc) === RC_HANDLE;

/** Writes `userData` to NV index 0x01400002, defining it with owner read/write when needed. */
export async function writeUserData(tpm: VtpmOps, userData: Uint8Array): Promise<void> {
  const index = HCL_USER_DATA_NV_INDEX;
  try {
    let size: number | undefined;
    try {
      size = (await tpm.nvReadPublic(index)).size;
    } catch (err) {
      if (!isHandleError(err)) throw err;
    }
    if (size !== undefined && size !== userData.length) await tpm.nvUndefineSpace(index);
    if (size !== userData.length) await tpm.nvDefineSpace(index, userData.length);
    await tpm.nvWrite(index, userData, TPM_RH.OWNER);
  } catch (err) {
    if (!(err instanceof TpmError)) throw err;
    throw new AzVtpmError(
      "user-data-write",
      `Cannot write the report data to vTPM NV index ${hex(index)}: ${err.message}`,
      { cause: err },
    );
  }
}

/** Reads and parses the HCL report (owner authorisation, as upstream). */
export async function readHclReport(
  tpm: VtpmOps,
): Promise<{ hclBytes: Uint8Array; hcl: HclReport }> {
  let hclBytes: Uint8Array;
  try {
    hclBytes = await tpm.nvRead(HCL_REPORT_NV_INDEX, TPM_RH.OWNER);
  } catch (err) {
    if (!(err instanceof TpmError)) throw err;
    const why = isHandleError(err) ? "the index is not defined (not an Azure CVM?)" : err.message;
    throw new AzVtpmError(
      "hcl-unavailable",
      `Cannot read the HCL report from vTPM NV index ${hex(HCL_REPORT_NV_INDEX)}: ${why}`,
      { cause: err },
    );
  }
  try {
    return { hclBytes, hcl: parseHclReport(hclBytes) };
  } catch (err) {
    if (!(err instanceof TpmError)) throw err;
    throw new AzVtpmError("hcl-malformed", `${err.message} (vTPM NV index 0x01400001)`, {
      cause: err,
    });
  }
}

/** Re-reads the HCL report until its `user-data` is `userData`; checks the report type. */
async function freshHclReport(
  tpm: VtpmOps,
  want: "snp" | "tdx",
  userData: Uint8Array,
  refresh: HclRefresh,
) {
  const attempts = Math.max(1, refresh.attempts ?? 13);
  const expected = userData.toHex();
  let seen: string | undefined;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((ok) => setTimeout(ok, refresh.intervalMs ?? 250));
    const got = await readHclReport(tpm);
    if (got.hcl.reportType !== want) {
      throw new AzVtpmError(
        "hcl-wrong-type",
        `Cannot use the HCL report: it holds a ${got.hcl.reportType} report, this attester needs ${want}`,
      );
    }
    seen = got.hcl.userData?.toLowerCase();
    if (seen === expected) return got;
  }
  throw new AzVtpmError(
    "hcl-stale",
    `Cannot get a fresh HCL report: after ${attempts} reads its user-data is ` +
      `${seen === undefined ? "absent" : seen.slice(0, 16) + "…"}, not the report data written ` +
      `to NV index ${hex(HCL_USER_DATA_NV_INDEX)} (${expected.slice(0, 16)}…)`,
  );
}

const b64urlBytes = (s: string) => Uint8Array.fromBase64(s, { alphabet: "base64url" });

/** Loads the AK at 0x81000003 and checks it is the HCL's `HCLAkPub` RSA signing key. */
async function checkAk(tpm: VtpmOps, hcl: HclReport): Promise<void> {
  let pub;
  try {
    pub = (await tpm.readPublic(AZURE_AK_HANDLE)).public;
  } catch (err) {
    if (!(err instanceof TpmError)) throw err;
    throw new AzVtpmError(
      "ak-unavailable",
      `Cannot use the vTPM AK ${hex(AZURE_AK_HANDLE)}: ${err.message}`,
      { cause: err },
    );
  }
  if (pub.type !== "rsa" || pub.scheme.alg !== TPM_ALG.RSASSA) {
    throw new AzVtpmError(
      "ak-unavailable",
      `Cannot use the vTPM AK ${hex(AZURE_AK_HANDLE)}: not an RSASSA signing key`,
    );
  }
  const n = tpmPublicToJwk(pub).n!;
  if (b64urlBytes(n).toHex() !== b64urlBytes(hcl.akJwk.n).toHex()) {
    throw new AzVtpmError(
      "ak-mismatch",
      `Cannot quote: the vTPM AK ${hex(AZURE_AK_HANDLE)} is not the HCLAkPub of the HCL report`,
    );
  }
}

/** Quotes PCRs 0-23 with the AK and `reportData` unchanged as qualifying data. */
async function quote(tpm: VtpmOps, reportData: Uint8Array): Promise<AzVtpmReading["tpmQuote"]> {
  try {
    const { quote, pcrs } = await quoteConsistent(
      tpm,
      AZURE_AK_HANDLE,
      reportData,
      { alg: TPM_ALG.RSASSA, hash: TPM_ALG.SHA256 },
      [reportData.length],
    );
    if (quote.signature.alg !== "rsassa") {
      throw new TpmError("unsupported", `the quote is signed with ${quote.signature.alg}`);
    }
    return {
      signature: quote.signature.sig.toHex(),
      message: quote.attest.toHex(),
      pcrs: pcrs.map((p) => p.toHex()),
    };
  } catch (err) {
    if (!(err instanceof TpmError)) throw err;
    throw new AzVtpmError(
      "quote-failed",
      `Cannot quote the vTPM PCRs with AK ${hex(AZURE_AK_HANDLE)}: ${err.message}`,
      { cause: err },
    );
  }
}

/**
 * Steps 1-3 above for `reportData` (at most 64 bytes). `afterWrite` runs after the user data
 * is written (tests use it as the paravisor).
 */
export async function readAzVtpm(
  tpm: VtpmOps,
  reportData: Uint8Array,
  want: "snp" | "tdx",
  options: { refresh?: HclRefresh | undefined; afterWrite?: UserDataHook | undefined } = {},
): Promise<AzVtpmReading> {
  if (reportData.length > AZ_USER_DATA_SIZE) {
    throw new AzVtpmError(
      "report-data-too-long",
      `Cannot get az-${want}-vtpm evidence: report data is ${reportData.length} bytes, at most ` +
        `${AZ_USER_DATA_SIZE} fit in the vTPM user data`,
    );
  }
  const userData = regularize(reportData, AZ_USER_DATA_SIZE);
  await writeUserData(tpm, userData);
  await options.afterWrite?.(tpm, userData);
  const { hclBytes, hcl } = await freshHclReport(tpm, want, userData, options.refresh ?? {});
  await checkAk(tpm, hcl);
  return { hclBytes, hcl, tpmQuote: await quote(tpm, reportData) };
}
