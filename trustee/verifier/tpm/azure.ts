/**
 * Shared part of the Azure vTPM verifiers (`az-snp-vtpm`, `az-tdx-vtpm`; spec/evidence.md
 * §7.3-7.5): evidence versions 0/1/2, the HCL report, the vTPM quote signed by the HCL's AK,
 * the exact nonce, the PCR digest, the v2 `user-data` check and the init-data PCR 8 binding.
 * The hardware report check is done by the caller.
 */
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual } from "@coco/lib/bytes";
import { obj, str } from "@coco/lib/json/fields";
import { type HclReport, parseHclReport, TPM_ALG, TpmError } from "@coco/lib/tee/tpm";
import { VerifierError, type VerifyInput } from "../types.ts";
import {
  INIT_DATA_PCR,
  pcrClaims,
  type QuoteEvidence,
  quoteEvidence,
  verifyInitDataPcr,
  verifyPcrDigest,
  verifyQuoteSignature,
} from "./quote.ts";

/** Azure vTPM evidence of either TEE, normalised across versions. */
export interface AzEvidence {
  version: 0 | 1 | 2;
  signature: Uint8Array;
  message: Uint8Array;
  pcrs: Uint8Array[];
  hclReport: Uint8Array;
  /** `vcek` (PEM for v0, DER for v1+) or `td_quote` bytes. */
  hardware: Uint8Array | string;
}

function byteArray(v: unknown, path: string): Uint8Array {
  if (!Array.isArray(v) || v.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) {
    throw new TypeError(`${path} must be an array of bytes`);
  }
  return new Uint8Array(v as number[]);
}

function hex(v: unknown, path: string): Uint8Array {
  try {
    return Uint8Array.fromHex(str(v, path));
  } catch (err) {
    if (err instanceof TypeError && err.message.startsWith(path)) throw err;
    throw new TypeError(`${path} is not hex`);
  }
}

function b64url(v: unknown, path: string): Uint8Array {
  try {
    return Uint8Array.fromBase64(str(v, path), { alphabet: "base64url" });
  } catch (err) {
    if (err instanceof TypeError && err.message.startsWith(path)) throw err;
    throw new TypeError(`${path} is not base64url`);
  }
}

/** Parses v2/v1 (hex quote, base64url report) or v0 (byte arrays) evidence. */
export function parseAzEvidence(
  tee: "az-snp-vtpm" | "az-tdx-vtpm",
  evidence: JsonValue,
): AzEvidence {
  try {
    const o = obj(evidence, `${tee} evidence`);
    const hwKey = tee === "az-snp-vtpm" ? "vcek" : "td_quote";
    if (o.version !== undefined) {
      if (o.version !== 1 && o.version !== 2) {
        throw new TypeError(`version ${JSON.stringify(o.version)} is not 1 or 2`);
      }
      const q = obj(o.tpm_quote, "tpm_quote");
      if (!Array.isArray(q.pcrs)) throw new TypeError("tpm_quote.pcrs must be an array");
      return {
        version: o.version,
        signature: hex(q.signature, "tpm_quote.signature"),
        message: hex(q.message, "tpm_quote.message"),
        pcrs: q.pcrs.map((p, i) => hex(p, `tpm_quote.pcrs[${i}]`)),
        hclReport: b64url(o.hcl_report, "hcl_report"),
        hardware: b64url(o[hwKey], hwKey),
      };
    }
    const quoteKey = tee === "az-snp-vtpm" ? "quote" : "tpm_quote";
    const reportKey = tee === "az-snp-vtpm" ? "report" : "hcl_report";
    const q = obj(o[quoteKey], quoteKey);
    if (!Array.isArray(q.pcrs)) throw new TypeError(`${quoteKey}.pcrs must be an array`);
    return {
      version: 0,
      signature: byteArray(q.signature, `${quoteKey}.signature`),
      message: byteArray(q.message, `${quoteKey}.message`),
      pcrs: q.pcrs.map((p, i) => byteArray(p, `${quoteKey}.pcrs[${i}]`)),
      hclReport: byteArray(o[reportKey], reportKey),
      hardware: tee === "az-snp-vtpm" ? str(o.vcek, "vcek") : byteArray(o.td_quote, "td_quote"),
    };
  } catch (err) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify ${tee} evidence: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** What the TPM half established; the caller then checks the hardware report. */
export interface AzTpmResult {
  hcl: HclReport;
  quote: QuoteEvidence;
  /** SHA-256 of the HCL variable data, to compare with the hardware REPORTDATA[0..32]. */
  varDataHash: Uint8Array;
}

/**
 * Report data is required. Parses the HCL report, verifies the vTPM quote with the HCL's AK
 * (RSASSA-PKCS1-v1_5 SHA-256), the exact nonce and the PCR digest.
 */
export async function verifyAzTpm(
  tee: "az-snp-vtpm" | "az-tdx-vtpm",
  ev: AzEvidence,
  input: VerifyInput,
): Promise<AzTpmResult> {
  if (!input.reportData) {
    throw new VerifierError(
      "report-data-mismatch",
      `Cannot verify ${tee} evidence: expected report data is required`,
    );
  }
  let hcl: HclReport;
  try {
    hcl = parseHclReport(ev.hclReport);
  } catch (err) {
    if (!(err instanceof TpmError)) throw err;
    throw new VerifierError("bad-evidence", `Cannot verify ${tee} evidence: ${err.message}`, {
      cause: err,
    });
  }
  const want = tee === "az-snp-vtpm" ? "snp" : "tdx";
  if (hcl.reportType !== want) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify ${tee} evidence: the HCL report holds a ${hcl.reportType} report`,
    );
  }
  const sig = { alg: "rsassa" as const, hash: TPM_ALG.SHA256, sig: ev.signature };
  const q = quoteEvidence(tee, ev.message, sig, ev.pcrs);
  let ak: CryptoKey;
  try {
    ak = await crypto.subtle.importKey(
      "jwk",
      hcl.akJwk,
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    );
  } catch (err) {
    throw new VerifierError("bad-evidence", `Cannot verify ${tee} evidence: HCLAkPub: ${err}`, {
      cause: err,
    });
  }
  await verifyQuoteSignature(tee, ak, q, "AKpub (the HCL report's HCLAkPub)");
  if (!bytesEqual(q.info.extraData, input.reportData)) {
    throw new VerifierError(
      "report-data-mismatch",
      `Cannot verify ${tee} evidence: the TPM quote nonce does not match the expected report data`,
    );
  }
  await verifyPcrDigest(tee, q);
  const varDataHash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", hcl.varData as BufferSource),
  );
  return { hcl, quote: q, varDataHash };
}

/** v2: `user-data` (hex) must start with the expected report data. */
export function verifyUserData(
  tee: string,
  ev: AzEvidence,
  hcl: HclReport,
  reportData: Uint8Array,
): void {
  if (ev.version !== 2) return;
  let user: Uint8Array;
  try {
    user = Uint8Array.fromHex(hcl.userData ?? "");
  } catch {
    throw new VerifierError("bad-evidence", `Cannot verify ${tee} evidence: user-data is not hex`);
  }
  if (!bytesEqual(user.subarray(0, reportData.length), reportData)) {
    throw new VerifierError(
      "report-data-mismatch",
      `Cannot verify ${tee} evidence: the HCL user-data does not start with the expected report data`,
    );
  }
}

/** Init-data check, then the `report_data`, `init_data` and `tpm` claims to merge last. */
export async function azTpmClaims(
  tee: string,
  r: AzTpmResult,
  initDataHash: Uint8Array | undefined,
): Promise<Record<string, JsonValue>> {
  await verifyInitDataPcr(tee, r.quote, initDataHash);
  return {
    report_data: r.quote.info.extraData.toHex(),
    init_data: r.quote.pcrs[INIT_DATA_PCR]!.toHex(),
    tpm: pcrClaims(r.quote.pcrs),
  };
}
