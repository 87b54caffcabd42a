/**
 * The `sample` and `sampledevice` verifiers: development-only TEEs with no hardware signature.
 * Evidence `{"svn": "1", "report_data": "<std base64>"}`; report data must equal the expected
 * bytes exactly (no padding). Never selected unless the guest announces the sample TEE, and the
 * default resource policy denies it. Our attester may add `"aa_eventlog"` (std base64 AAEL):
 * its entries become `uefi_event_logs` claims (same shape as TDX) so policies can check runtime
 * measurements; the sample TEE has no register, so the log is not replayed.
 *
 * @module
 */
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual } from "@coco/lib/bytes";
import { obj, optStr, str } from "@coco/lib/json/fields";
import { eventJson } from "@coco/lib/eventlog";
import { parseAaEventLog } from "../aael.ts";
import type { VerifiedClaims, Verifier, VerifyInput } from "../types.ts";
import { VerifierError } from "../types.ts";

function parseSampleEvidence(
  tee: string,
  evidence: JsonValue,
): { svn: string; report_data: string; aa_eventlog?: string } {
  try {
    const o = obj(evidence, `${tee} evidence`);
    const aael = optStr(o.aa_eventlog, "aa_eventlog");
    return {
      svn: str(o.svn, "svn"),
      report_data: o.report_data === undefined ? "" : str(o.report_data, "report_data"),
      ...(aael !== undefined ? { aa_eventlog: aael } : {}),
    };
  } catch (err) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify ${tee} evidence: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function checkReportData(
  tee: string,
  ev: { report_data: string },
  expected: Uint8Array | undefined,
) {
  if (expected === undefined) return;
  let got: Uint8Array;
  try {
    got = Uint8Array.fromBase64(ev.report_data);
  } catch (err) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify ${tee} evidence: report_data is not base64`,
      { cause: err },
    );
  }
  if (!bytesEqual(got, expected)) {
    throw new VerifierError(
      "report-data-mismatch",
      `Cannot verify ${tee} evidence: report_data does not match the expected runtime data`,
    );
  }
}

/** Verifier for the `sample` CPU TEE. */
export class SampleVerifier implements Verifier {
  readonly tee = "sample" as const;
  // deno-lint-ignore require-await -- async so that bad evidence rejects instead of throwing
  async evaluate(input: VerifyInput): Promise<VerifiedClaims[]> {
    const ev = parseSampleEvidence(this.tee, input.evidence);
    checkReportData(this.tee, ev, input.reportData);
    const claims: Record<string, JsonValue> = {
      svn: ev.svn,
      report_data: ev.report_data,
      launch_digest: "abcde",
      platform_version: { major: 1, minor: 4 },
      debug: false,
    };
    // Sample has no hardware field for init-data; it reports what it was given (not checked).
    if (input.initDataHash) claims.init_data = input.initDataHash.toBase64();
    // Our extension: the AA event log, as TDX renders it; nothing to replay it against.
    if (ev.aa_eventlog) {
      claims.uefi_event_logs = parseAaEventLog(this.tee, ev.aa_eventlog).map((e) => eventJson(e));
    }
    return [{ claims, teeClass: "cpu" }];
  }
}

/** Verifier for the `sampledevice` additional (GPU-class) device. */
export class SampleDeviceVerifier implements Verifier {
  readonly tee = "sampledevice" as const;
  evaluate(input: VerifyInput): Promise<VerifiedClaims[]> {
    const ev = parseSampleEvidence(this.tee, input.evidence);
    checkReportData(this.tee, ev, input.reportData);
    return Promise.resolve([{
      claims: { svn: ev.svn, report_data: ev.report_data },
      teeClass: "gpu",
    }]);
  }
}
