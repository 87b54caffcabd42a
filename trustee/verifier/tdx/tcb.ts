/**
 * TCB evaluation per Intel's QVL rules (spec/evidence.md §4.7 B.3–B.8): TCB info and QE identity
 * matched against the quote and the PCK extension, the platform / TDX module / QE levels found,
 * and their statuses converged into one status, date and advisory list. TD 1.5 quotes are
 * evaluated a second time with TEE_TCB_SVN2 ("current").
 */
import type { SgxReportBody, TdReportBody } from "@coco/lib/tee/tdx";
import { bytesEqual } from "@coco/lib/bytes";
import { VerifierError } from "../types.ts";
import type {
  IsvTcbLevel,
  QeIdentity,
  TcbInfo,
  TcbLevel,
  TdxModuleIdentity,
} from "./collateral.ts";
import type { PckInfo } from "./pck.ts";

/** Result of one evaluation. */
export interface TcbResult {
  status: string;
  date: string;
  advisoryIds: string[];
}

/** Launch result, and for TD 1.5 the evaluation with TEE_TCB_SVN2. */
export interface TcbEvaluation {
  launch: TcbResult;
  current?: TcbResult;
}

function mismatch(msg: string): never {
  throw new VerifierError("tcb-mismatch", `Cannot verify TDX evidence: ${msg}`);
}

function lexCompareDesc(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return b[i]! - a[i]!;
  return 0;
}

function sortPlatform(levels: TcbLevel[]): TcbLevel[] {
  return [...levels].sort((a, b) =>
    lexCompareDesc(a.sgxComponents, b.sgxComponents) || b.pceSvn - a.pceSvn ||
    lexCompareDesc(a.tdxComponents ?? [], b.tdxComponents ?? [])
  );
}

function sortIsv(levels: IsvTcbLevel[]): IsvTcbLevel[] {
  return [...levels].sort((a, b) => b.isvsvn - a.isvsvn);
}

/** The module identity the quote's TDX module must match (B.4). */
function moduleIdentity(info: TcbInfo, teeTcbSvn: Uint8Array): TdxModuleIdentity | undefined {
  const major = teeTcbSvn[1]!;
  if (major === 0) return undefined;
  const id = `TDX_${major.toString(16).toUpperCase().padStart(2, "0")}`;
  return info.tdxModuleIdentities.find((m) => m.id.toUpperCase() === id) ??
    mismatch(`no TDX module identity ${id} in the TCB info (TDX_MODULE_MISMATCH)`);
}

/** Checks the collateral applies to this quote (B.3, B.4, B.6); throws `tcb-mismatch`. */
export function matchCollateral(
  body: TdReportBody,
  qe: SgxReportBody,
  pck: PckInfo,
  info: TcbInfo,
  qeId: QeIdentity,
): void {
  if (info.id !== "TDX" || info.version < 3) {
    mismatch(`TCB info is ${info.id} v${info.version}, a TDX quote needs TDX TCB info v3`);
  }
  if (info.fmspc !== pck.fmspc.toHex()) {
    mismatch(`TCB info FMSPC ${info.fmspc} is not the PCK FMSPC ${pck.fmspc.toHex()}`);
  }
  if (info.pceId !== pck.pceId.toHex()) {
    mismatch(`TCB info PCE-ID ${info.pceId} is not the PCK PCE-ID ${pck.pceId.toHex()}`);
  }
  const mod = moduleIdentity(info, body.teeTcbSvn) ?? info.tdxModule ??
    mismatch("TCB info has no tdxModule (TDX_MODULE_MISMATCH)");
  if (!bytesEqual(body.mrSignerSeam, mod.mrsigner)) {
    mismatch("MRSIGNERSEAM does not match the TDX module identity (TDX_MODULE_MISMATCH)");
  }
  const attrs = body.seamAttributes;
  if (
    attrs.length !== mod.attributes.length ||
    attrs.some((b, i) => b !== 0 || b !== mod.attributes[i])
  ) {
    mismatch("SEAMATTRIBUTES do not match the TDX module identity (TDX_MODULE_MISMATCH)");
  }
  if (qeId.id !== "TD_QE" || qeId.version !== 2) {
    mismatch(`QE identity is ${qeId.id} v${qeId.version}, a TDX quote needs TD_QE v2`);
  }
  if (((qe.miscSelect & qeId.miscselectMask) >>> 0) !== qeId.miscselect) {
    mismatch("QE MISCSELECT does not match the QE identity (QE_IDENTITY_MISMATCH)");
  }
  if (
    qeId.attributes.some((a, i) => ((qe.attributes[i] ?? 0) & (qeId.attributesMask[i] ?? 0)) !== a)
  ) {
    mismatch("QE ATTRIBUTES do not match the QE identity (QE_IDENTITY_MISMATCH)");
  }
  if (qeId.mrsigner.length > 0 && !bytesEqual(qe.mrSigner, qeId.mrsigner)) {
    mismatch("QE MRSIGNER does not match the QE identity (QE_IDENTITY_MISMATCH)");
  }
  if (qe.isvProdId !== qeId.isvprodid) {
    mismatch(`QE ISVPRODID ${qe.isvProdId} is not ${qeId.isvprodid} (QE_IDENTITY_MISMATCH)`);
  }
}

function platformLevel(info: TcbInfo, pck: PckInfo, svn: Uint8Array): TcbLevel {
  const start = svn[1]! > 0 ? 2 : 0;
  const level = sortPlatform(info.tcbLevels).find((l) =>
    l.sgxComponents.every((c, i) => pck.tcbComponents[i]! >= c) &&
    pck.pceSvn >= l.pceSvn &&
    (l.tdxComponents ?? []).every((c, i) => i < start || svn[i]! >= c)
  );
  return level ?? mismatch("no TCB level of the TCB info matches the platform (TCB_NOT_SUPPORTED)");
}

function converge(platform: string, others: string[]): string {
  let status = platform;
  if (others.includes("OutOfDate")) {
    if (status === "UpToDate" || status === "SWHardeningNeeded") status = "OutOfDate";
    else if (status === "ConfigurationNeeded" || status === "ConfigurationAndSWHardeningNeeded") {
      status = "OutOfDateConfigurationNeeded";
    }
  }
  if (others.includes("Revoked")) status = "Revoked";
  return status;
}

function evaluateOnce(
  info: TcbInfo,
  qeId: QeIdentity,
  pck: PckInfo,
  qeIsvSvn: number,
  svn: Uint8Array,
): TcbResult {
  const levels: { tcbStatus: string; tcbDate: string; advisoryIds: string[] }[] = [];
  const platform = platformLevel(info, pck, svn);
  const mod = moduleIdentity(info, svn);
  if (mod) {
    const l = sortIsv(mod.tcbLevels).find((m) => svn[0]! >= m.isvsvn) ??
      mismatch(`no ${mod.id} TCB level matches TDX module SVN ${svn[0]} (TCB_NOT_SUPPORTED)`);
    levels.push(l);
  }
  const qeLevel = sortIsv(qeId.tcbLevels).find((l) => l.isvsvn <= qeIsvSvn) ??
    mismatch(`no QE identity TCB level matches QE ISVSVN ${qeIsvSvn} (TCB_NOT_SUPPORTED)`);
  levels.push(qeLevel);
  const all = [platform, ...levels];
  const date = all.map((l) => l.tcbDate).sort()[0]!;
  const advisoryIds = [...new Set(all.flatMap((l) => l.advisoryIds))].sort();
  return {
    status: converge(platform.tcbStatus, levels.map((l) => l.tcbStatus)),
    date,
    advisoryIds,
  };
}

/** Runs the TCB evaluation; a `Revoked` result throws `revoked`. */
export function evaluateTcb(
  body: TdReportBody,
  qe: SgxReportBody,
  pck: PckInfo,
  info: TcbInfo,
  qeId: QeIdentity,
): TcbEvaluation {
  const launch = evaluateOnce(info, qeId, pck, qe.isvSvn, body.teeTcbSvn);
  if (launch.status === "Revoked") {
    throw new VerifierError("revoked", "Cannot verify TDX evidence: the platform TCB is Revoked");
  }
  if (!body.teeTcbSvn2) return { launch };
  const current = evaluateOnce(info, qeId, pck, qe.isvSvn, body.teeTcbSvn2);
  const relaunchable = [
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
  ];
  if (
    (launch.status === "OutOfDate" || launch.status === "OutOfDateConfigurationNeeded") &&
    relaunchable.includes(current.status)
  ) {
    const conf = launch.status === "OutOfDateConfigurationNeeded" ||
      current.status.startsWith("Configuration");
    launch.status = conf ? "TDRelaunchAdvisedConfigurationNeeded" : "TDRelaunchAdvised";
  }
  return { launch, current };
}
