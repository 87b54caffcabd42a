/**
 * Trustee's `tdx` claims (spec/evidence.md §4.8, §4.9): quote header and body as hex, TD
 * attribute bits, report/init data, platform instance id, event log entries, then the DCAP
 * claims QVL's supplemental data gives Trustee. Key order follows
 * `parse_tdx_claims_expected.json` (sorted within objects, top level in Trustee's insert order).
 */
import type { JsonValue } from "@coco/lib/json";
import type { TdxQuote } from "@coco/lib/tee/tdx";
import type { PckInfo } from "./pck.ts";

const SGX_TYPES = ["Standard", "Scalable", "Scalable with Integrity"];

function sorted(o: Record<string, JsonValue>): Record<string, JsonValue> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]!]));
}

function bit(b: Uint8Array, n: number): boolean {
  return ((b[n >> 3]! >> (n & 7)) & 1) === 1;
}

/** The collateral-free claims (what Trustee's `generate_parsed_claim` returns). */
export function quoteClaims(
  q: TdxQuote,
  pck: PckInfo,
  eventLog?: JsonValue[],
): Record<string, JsonValue> {
  const b = q.body;
  const body: Record<string, JsonValue> = {
    tcb_svn: b.teeTcbSvn.toHex(),
    mr_seam: b.mrSeam.toHex(),
    mrsigner_seam: b.mrSignerSeam.toHex(),
    seam_attributes: b.seamAttributes.toHex(),
    td_attributes: b.tdAttributes.toHex(),
    xfam: b.xfam.toHex(),
    mr_td: b.mrTd.toHex(),
    mr_config_id: b.mrConfigId.toHex(),
    mr_owner: b.mrOwner.toHex(),
    mr_owner_config: b.mrOwnerConfig.toHex(),
    rtmr_0: b.rtmrs[0].toHex(),
    rtmr_1: b.rtmrs[1].toHex(),
    rtmr_2: b.rtmrs[2].toHex(),
    rtmr_3: b.rtmrs[3].toHex(),
    report_data: b.reportData.toHex(),
  };
  if (b.teeTcbSvn2) body.tee_tcb_svn2 = b.teeTcbSvn2.toHex();
  if (b.mrServiceTd) body.mr_servicetd = b.mrServiceTd.toHex();
  const h = q.header;
  const quote: Record<string, JsonValue> = {
    body: sorted(body),
    header: sorted({
      version: h.raw.subarray(0, 2).toHex(),
      att_key_type: h.raw.subarray(2, 4).toHex(),
      tee_type: h.raw.subarray(4, 8).toHex(),
      reserved: h.reserved.toHex(),
      vendor_id: h.vendorId.toHex(),
      user_data: h.userData.toHex(),
    }),
  };
  if (q.bodyDescriptor) {
    quote.size = q.bodyDescriptor.raw.subarray(2, 6).toHex();
    quote.type = q.bodyDescriptor.raw.subarray(0, 2).toHex();
  }
  const a = b.tdAttributes;
  const claims: Record<string, JsonValue> = {
    init_data: b.mrConfigId.toHex(),
    quote,
    report_data: b.reportData.toHex(),
    td_attributes: {
      debug: bit(a, 0),
      key_locker: bit(a, 31),
      perfmon: bit(a, 63),
      protection_keys: bit(a, 30),
      septve_disable: bit(a, 28),
    },
  };
  if (eventLog) claims.uefi_event_logs = eventLog;
  if (pck.platformInstanceId) {
    claims.platform_instance_id = pck.platformInstanceId.toReversed().toHex();
  }
  return claims;
}

/** Inputs of the DCAP claims, gathered by the verification. */
export interface DcapFacts {
  issueDates: Date[];
  expirationDates: Date[];
  pckCrlNum?: number;
  rootCaCrlNum?: number;
  tcbEvalNum: number;
  rootKeyId: string;
  tcbStatus: string;
  tcbDate: string;
  advisoryIds: string[];
  collateralExpired: boolean;
  current?: { status: string; date: string; advisoryIds: string[] };
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function tcbDate(s: string): string {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : rfc3339(d);
}

/** The DCAP claims (§4.8). */
export function dcapClaims(f: DcapFacts, pck: PckInfo): Record<string, JsonValue> {
  const t = (ds: Date[]) => ds.map((d) => d.getTime());
  const c: Record<string, JsonValue> = {
    earliest_issue_date: rfc3339(new Date(Math.min(...t(f.issueDates)))),
    latest_issue_date: rfc3339(new Date(Math.max(...t(f.issueDates)))),
    earliest_expiration_date: rfc3339(new Date(Math.min(...t(f.expirationDates)))),
    tcb_date: tcbDate(f.tcbDate),
  };
  if (f.pckCrlNum !== undefined) c.pck_crl_num = f.pckCrlNum;
  if (f.rootCaCrlNum !== undefined) c.root_ca_crl_num = f.rootCaCrlNum;
  c.tcb_eval_num = f.tcbEvalNum;
  c.platform_provider_id = pck.ppid.toHex();
  c.sgx_type = SGX_TYPES[pck.sgxType] ?? `Unknown (${pck.sgxType})`;
  if (pck.sgxType > 0 && pck.configuration) {
    if (pck.configuration.dynamicPlatform !== undefined) {
      c.is_dynamic_platform = pck.configuration.dynamicPlatform;
    }
    if (pck.configuration.cachedKeys !== undefined) c.is_cached_keys = pck.configuration.cachedKeys;
    if (pck.configuration.smtEnabled !== undefined) c.is_smt_enabled = pck.configuration.smtEnabled;
  }
  c.root_key_id = f.rootKeyId;
  c.tcb_status = f.tcbStatus;
  c.collateral_expiration_status = f.collateralExpired ? "1" : "0";
  c.advisory_ids = f.advisoryIds;
  if (f.current) {
    c.tcb_date_current = tcbDate(f.current.date);
    c.tcb_status_current = f.current.status;
    c.advisory_ids_current = f.current.advisoryIds;
  }
  return c;
}
