/**
 * SNP evidence JSON in the sev crate's serde shape, as the upstream attester sends it and Trustee
 * reads it: `{"attestation_report": {...}, "cert_chain": [{"cert_type", "data"}] | null}`.
 * Byte fields are JSON arrays of numbers 0-255; `policy`/`plat_info` are raw integers.
 */
import type { JsonValue } from "../../json/mod.ts";
import { isJsonObject } from "../../json/mod.ts";
import type { SnpCertEntry, SnpCertType } from "./cert_table.ts";

import { SnpFormatError } from "./errors.ts";
import { encodeSnpReport, SNP_BYTE_FIELDS, type SnpReport } from "./report.ts";
import type { TcbVersion } from "./tcb.ts";

/** Parsed SNP evidence. */
export interface SnpEvidence {
  report: SnpReport;
  /** Certificates from the extended report; null when the attester sent none. */
  certChain: SnpCertEntry[] | null;
}

function bad(path: string, what: string): never {
  throw new SnpFormatError("invalid-evidence", `Cannot parse SNP evidence: ${path} ${what}`);
}

function field(o: Record<string, unknown>, key: string, path: string): unknown {
  if (!(key in o)) bad(`${path}.${key}`, "is missing");
  return o[key];
}

function int(v: unknown, path: string, max: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > max) {
    bad(path, `must be an integer from 0 to ${max}`);
  }
  return v;
}

function optInt(v: unknown, path: string, max: number): number | null {
  return v === undefined || v === null ? null : int(v, path, max);
}

function u64(v: unknown, path: string): bigint {
  return BigInt(int(v, path, Number.MAX_SAFE_INTEGER));
}

function bytes(v: unknown, path: string, len?: number): Uint8Array {
  if (!Array.isArray(v)) bad(path, "must be an array of bytes");
  if (len !== undefined && v.length !== len) bad(path, `must hold ${len} bytes, not ${v.length}`);
  return Uint8Array.from(v, (b, i) => int(b, `${path}[${i}]`, 255));
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (!isJsonObject(v)) bad(path, "must be an object");
  return v;
}

function tcb(v: unknown, path: string): TcbVersion {
  const o = obj(v, path);
  const f = (k: string) => int(field(o, k, path), `${path}.${k}`, 255);
  return {
    fmc: optInt(o.fmc, `${path}.fmc`, 255),
    bootloader: f("bootloader"),
    tee: f("tee"),
    snp: f("snp"),
    microcode: f("microcode"),
  };
}

function fw(v: unknown, path: string) {
  const o = obj(v, path);
  const f = (k: string) => int(field(o, k, path), `${path}.${k}`, 255);
  return { major: f("major"), minor: f("minor"), build: f("build") };
}

/** Parses the `attestation_report` object. */
export function parseSnpReportJson(value: unknown, path = "attestation_report"): SnpReport {
  const o = obj(value, path);
  const g = (k: string) => field(o, k, path);
  const p = (k: string) => `${path}.${k}`;
  const sig = obj(g("signature"), p("signature"));
  const report: Record<string, unknown> = {
    version: int(g("version"), p("version"), 0xffffffff),
    guest_svn: int(g("guest_svn"), p("guest_svn"), 0xffffffff),
    policy: u64(g("policy"), p("policy")),
    vmpl: int(g("vmpl"), p("vmpl"), 0xffffffff),
    sig_algo: int(g("sig_algo"), p("sig_algo"), 0xffffffff),
    current_tcb: tcb(g("current_tcb"), p("current_tcb")),
    plat_info: u64(g("plat_info"), p("plat_info")),
    key_info: int(g("key_info"), p("key_info"), 0xffffffff),
    reported_tcb: tcb(g("reported_tcb"), p("reported_tcb")),
    cpuid_fam_id: optInt(o.cpuid_fam_id, p("cpuid_fam_id"), 255),
    cpuid_mod_id: optInt(o.cpuid_mod_id, p("cpuid_mod_id"), 255),
    cpuid_step: optInt(o.cpuid_step, p("cpuid_step"), 255),
    committed_tcb: tcb(g("committed_tcb"), p("committed_tcb")),
    current: fw(g("current"), p("current")),
    committed: fw(g("committed"), p("committed")),
    launch_tcb: tcb(g("launch_tcb"), p("launch_tcb")),
    launch_mit_vector: o.launch_mit_vector == null
      ? null
      : u64(o.launch_mit_vector, p("launch_mit_vector")),
    current_mit_vector: o.current_mit_vector == null
      ? null
      : u64(o.current_mit_vector, p("current_mit_vector")),
    signature: {
      r: bytes(field(sig, "r", p("signature")), p("signature.r"), 72),
      s: bytes(field(sig, "s", p("signature")), p("signature.s"), 72),
    },
  };
  for (const [name, , len] of SNP_BYTE_FIELDS) report[name] = bytes(g(name), p(name), len);
  const typed = report as unknown as SnpReport;
  encodeSnpReport(typed); // checks the version and the product (CPUID) now, naming them
  return typed;
}

const CERT_NAMES = ["ARK", "ASK", "VCEK", "VLEK", "CRL", "Empty"] as const;

function certType(v: unknown, path: string): SnpCertType {
  if (typeof v === "string") {
    if ((CERT_NAMES as readonly string[]).includes(v)) return v as SnpCertType;
    bad(path, `names an unknown certificate type ${JSON.stringify(v)}`);
  }
  const o = obj(v, path);
  if (typeof o.OTHER !== "string") {
    bad(path, `must be one of ${CERT_NAMES.join(", ")} or {"OTHER": uuid}`);
  }
  return { OTHER: o.OTHER.toLowerCase() };
}

/** Parses the `cert_chain` member (null or absent → null). */
export function parseSnpCertChainJson(value: unknown, path = "cert_chain"): SnpCertEntry[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) bad(path, "must be an array or null");
  return value.map((e, i) => {
    const o = obj(e, `${path}[${i}]`);
    return {
      cert_type: certType(field(o, "cert_type", `${path}[${i}]`), `${path}[${i}].cert_type`),
      data: bytes(field(o, "data", `${path}[${i}]`), `${path}[${i}].data`),
    };
  });
}

/** Parses SNP evidence JSON. Throws {@linkcode SnpFormatError} naming the bad field. */
export function parseSnpEvidence(value: unknown): SnpEvidence {
  const o = obj(value, "snp evidence");
  return {
    report: parseSnpReportJson(field(o, "attestation_report", "snp evidence")),
    certChain: parseSnpCertChainJson(o.cert_chain),
  };
}

const arr = (b: Uint8Array): JsonValue => Array.from(b);
const tcbJson = (t: TcbVersion): JsonValue => ({ ...t });

/** Serialises a report in the serde shape (u64 fields as JSON numbers). */
export function snpReportToJson(r: SnpReport): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {
    version: r.version,
    guest_svn: r.guest_svn,
    policy: Number(r.policy),
    family_id: arr(r.family_id),
    image_id: arr(r.image_id),
    vmpl: r.vmpl,
    sig_algo: r.sig_algo,
    current_tcb: tcbJson(r.current_tcb),
    plat_info: Number(r.plat_info),
    key_info: r.key_info,
  };
  for (const [name] of SNP_BYTE_FIELDS) out[name] = arr(r[name]);
  Object.assign(out, {
    reported_tcb: tcbJson(r.reported_tcb),
    cpuid_fam_id: r.cpuid_fam_id,
    cpuid_mod_id: r.cpuid_mod_id,
    cpuid_step: r.cpuid_step,
    committed_tcb: tcbJson(r.committed_tcb),
    current: { ...r.current },
    committed: { ...r.committed },
    launch_tcb: tcbJson(r.launch_tcb),
    launch_mit_vector: r.launch_mit_vector === null ? null : Number(r.launch_mit_vector),
    current_mit_vector: r.current_mit_vector === null ? null : Number(r.current_mit_vector),
    signature: { r: arr(r.signature.r), s: arr(r.signature.s) },
  });
  return out;
}

/** Serialises evidence in the serde shape the verifier (and upstream Trustee) reads. */
export function snpEvidenceToJson(evidence: SnpEvidence): Record<string, JsonValue> {
  return {
    attestation_report: snpReportToJson(evidence.report),
    cert_chain: evidence.certChain === null ? null : evidence.certChain.map((e) => ({
      cert_type: typeof e.cert_type === "string" ? e.cert_type : { OTHER: e.cert_type.OTHER },
      data: arr(e.data),
    })),
  };
}
