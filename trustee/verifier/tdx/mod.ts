/**
 * The `tdx` verifier: Intel TDX quotes (v4/v5) verified down to the pinned Intel SGX Root CA,
 * with DCAP collateral (TCB info, QE identity, CRLs) from a directory or a PCCS/PCS, report-data
 * and MRCONFIGID (init-data) binding, and CC event log replay against the RTMRs. Claims follow
 * Trustee (spec/evidence.md §4.8–§4.9). See README.md for the collateral directory layout.
 *
 * @module
 */
import {
  ALG_SHA384,
  eventJson,
  EventLogError,
  parseCcEventLog,
  replayAndMatch,
} from "@coco/lib/eventlog";
import type { JsonValue } from "@coco/lib/json";
import { bytesEqual, regularize } from "@coco/lib/bytes";
import { isJsonObject } from "@coco/lib/json";
import type { VerifiedClaims, Verifier, VerifierOptions, VerifyInput } from "../types.ts";
import { VerifierError } from "../types.ts";
import { quoteClaims } from "./claims.ts";
import { INTEL_TRUST, type TdxTrust, verifyTdxQuoteDetailed, withDcap } from "./verify_quote.ts";

export {
  INTEL_TRUST,
  type TdxTrust,
  type VerifiedTdxQuote,
  verifyTdxQuote,
  verifyTdxQuoteDetailed,
} from "./verify_quote.ts";
export {
  CachedCollateralSource,
  type CollateralBundle,
  type CollateralSource,
  DirCollateralSource,
  PccsCollateralSource,
} from "./collateral_source.ts";
export { INTEL_SGX_ROOT_CA_PEM } from "./intel_root.ts";

/** TDX evidence as the guest sends it. */
export interface TdxEvidence {
  /** Standard base64 of the CC event log (CCEL + AAEL + 8×0xFF), or null. */
  cc_eventlog: string | null;
  /** Standard base64 of the quote. */
  quote: string;
}

function b64(s: string, what: string): Uint8Array {
  try {
    return Uint8Array.fromBase64(s);
  } catch (err) {
    throw new VerifierError("bad-evidence", `Cannot verify TDX evidence: ${what} is not base64`, {
      cause: err,
    });
  }
}

/** Parses `{"cc_eventlog": b64 | null, "quote": b64}`. */
export function parseTdxEvidence(v: unknown): TdxEvidence {
  if (!isJsonObject(v) || typeof v.quote !== "string") {
    throw new VerifierError(
      "bad-evidence",
      "Cannot verify TDX evidence: expected an object with a base64 `quote` string",
    );
  }
  const log = v.cc_eventlog;
  if (log !== undefined && log !== null && typeof log !== "string") {
    throw new VerifierError(
      "bad-evidence",
      "Cannot verify TDX evidence: cc_eventlog must be a string or null",
    );
  }
  return { quote: v.quote, cc_eventlog: typeof log === "string" ? log : null };
}

/** Verifier for Intel TDX evidence. */
export class TdxVerifier implements Verifier {
  readonly tee = "tdx" as const;
  /** `trust` pins the root key; only tests with their own PKI pass anything but Intel's. */
  constructor(
    private readonly options: VerifierOptions = {},
    private readonly trust: TdxTrust = INTEL_TRUST,
  ) {}

  async evaluate(input: VerifyInput): Promise<VerifiedClaims[]> {
    const ev = parseTdxEvidence(input.evidence);
    const v = await verifyTdxQuoteDetailed(b64(ev.quote, "quote"), this.options, this.trust);
    const body = v.quote.body;
    if (input.reportData && !bytesEqual(regularize(input.reportData, 64), body.reportData)) {
      throw new VerifierError(
        "report-data-mismatch",
        "Cannot verify TDX evidence: REPORT_DATA is different from the expected report data",
      );
    }
    if (input.initDataHash && !bytesEqual(regularize(input.initDataHash, 48), body.mrConfigId)) {
      throw new VerifierError(
        "init-data-mismatch",
        "Cannot verify TDX evidence: MRCONFIGID is different from the init-data digest",
      );
    }
    let eventLog: JsonValue[] | undefined;
    if (ev.cc_eventlog) {
      try {
        const log = parseCcEventLog(b64(ev.cc_eventlog, "cc_eventlog"));
        replayAndMatch(
          log.entries,
          body.rtmrs.map((value, i) => ({ index: i + 1, algId: ALG_SHA384, value })),
        );
        eventLog = log.entries.map(eventJson);
      } catch (err) {
        if (!(err instanceof EventLogError)) throw err;
        throw new VerifierError("bad-evidence", `Cannot verify TDX evidence: ${err.message}`, {
          cause: err,
        });
      }
    }
    const claims = quoteClaims(v.quote, v.pck, eventLog);
    return [{ claims: withDcap(claims, v), teeClass: "cpu" }];
  }
}
