/**
 * DCAP collateral: TCB info v3 and enclave (QE) identity v2 as published by Intel PCS/PCCS,
 * their typed parse, and the signature check over the compact inner JSON (spec/evidence.md §4.6).
 * The signed text is the raw substring between `"tcbInfo":` / `"enclaveIdentity":` and
 * `,"signature"` when the document has that shape, else `JSON.stringify` of the parsed object.
 */
import { ab } from "@coco/lib/bytes";
import { arr, hexField, intField, isoField, optArr, record, text } from "./_fields.ts";
import { VerifierError } from "../types.ts";
import type { x509 } from "./_x509.ts";

/** One TCB level of the platform (`tcbLevels[]`). */
export interface TcbLevel {
  sgxComponents: number[];
  pceSvn: number;
  /** TDX TCB component SVNs (16), present in TDX TCB info. */
  tdxComponents?: number[];
  tcbDate: string;
  tcbStatus: string;
  advisoryIds: string[];
}

/** One TDX module identity with its own ISVSVN-based TCB levels. */
export interface TdxModuleIdentity {
  id: string;
  mrsigner: Uint8Array;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  tcbLevels: IsvTcbLevel[];
}

/** A TCB level keyed by ISVSVN (module identity, QE identity). */
export interface IsvTcbLevel {
  isvsvn: number;
  tcbDate: string;
  tcbStatus: string;
  advisoryIds: string[];
}

/** TCB info v3 (TDX or SGX). */
export interface TcbInfo {
  id: string;
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  fmspc: string;
  pceId: string;
  tcbEvaluationDataNumber: number;
  tdxModule?: { mrsigner: Uint8Array; attributes: Uint8Array; attributesMask: Uint8Array };
  tdxModuleIdentities: TdxModuleIdentity[];
  tcbLevels: TcbLevel[];
}

/** Enclave identity v2 (QE, QVE, TD_QE). */
export interface QeIdentity {
  id: string;
  version: number;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  miscselect: number;
  miscselectMask: number;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  mrsigner: Uint8Array;
  isvprodid: number;
  tcbLevels: IsvTcbLevel[];
}

/** A signed collateral document: parsed body, the bytes that were signed, and the signature. */
export interface Signed<T> {
  body: T;
  signedText: string;
  signature: Uint8Array;
}

function isvLevel(v: unknown, path: string): IsvTcbLevel {
  const o = record(v, path);
  return {
    isvsvn: intField(record(o.tcb, `${path}.tcb`).isvsvn, `${path}.tcb.isvsvn`),
    tcbDate: text(o.tcbDate, `${path}.tcbDate`),
    tcbStatus: text(o.tcbStatus, `${path}.tcbStatus`),
    advisoryIds: optArr(o.advisoryIDs, `${path}.advisoryIDs`).map((a, i) =>
      text(a, `${path}.advisoryIDs[${i}]`)
    ),
  };
}

function svns(v: unknown, path: string): number[] {
  const list = arr(v, path).map((c, i) =>
    intField(record(c, `${path}[${i}]`).svn, `${path}[${i}].svn`)
  );
  if (list.length !== 16) throw new TypeError(`${path} must have 16 components`);
  return list;
}

function platformLevel(v: unknown, path: string): TcbLevel {
  const o = record(v, path);
  const tcb = record(o.tcb, `${path}.tcb`);
  const level: TcbLevel = {
    sgxComponents: svns(tcb.sgxtcbcomponents, `${path}.tcb.sgxtcbcomponents`),
    pceSvn: intField(tcb.pcesvn, `${path}.tcb.pcesvn`),
    tcbDate: text(o.tcbDate, `${path}.tcbDate`),
    tcbStatus: text(o.tcbStatus, `${path}.tcbStatus`),
    advisoryIds: optArr(o.advisoryIDs, `${path}.advisoryIDs`).map((a, i) =>
      text(a, `${path}.advisoryIDs[${i}]`)
    ),
  };
  if (tcb.tdxtcbcomponents !== undefined) {
    level.tdxComponents = svns(tcb.tdxtcbcomponents, `${path}.tcb.tdxtcbcomponents`);
  }
  return level;
}

function moduleIdentity(v: unknown, path: string): TdxModuleIdentity {
  const o = record(v, path);
  return {
    id: text(o.id, `${path}.id`),
    mrsigner: hexField(o.mrsigner, `${path}.mrsigner`),
    attributes: hexField(o.attributes, `${path}.attributes`),
    attributesMask: hexField(o.attributesMask, `${path}.attributesMask`),
    tcbLevels: arr(o.tcbLevels, `${path}.tcbLevels`).map((l, i) =>
      isvLevel(l, `${path}.tcbLevels[${i}]`)
    ),
  };
}

function parseTcbInfoBody(v: unknown): TcbInfo {
  const o = record(v, "tcbInfo");
  const info: TcbInfo = {
    id: o.id === undefined ? "SGX" : text(o.id, "tcbInfo.id"),
    version: intField(o.version, "tcbInfo.version"),
    issueDate: isoField(o.issueDate, "tcbInfo.issueDate"),
    nextUpdate: isoField(o.nextUpdate, "tcbInfo.nextUpdate"),
    fmspc: text(o.fmspc, "tcbInfo.fmspc").toLowerCase(),
    pceId: text(o.pceId, "tcbInfo.pceId").toLowerCase(),
    tcbEvaluationDataNumber: intField(o.tcbEvaluationDataNumber, "tcbInfo.tcbEvaluationDataNumber"),
    tdxModuleIdentities: optArr(o.tdxModuleIdentities, "tcbInfo.tdxModuleIdentities").map((m, i) =>
      moduleIdentity(m, `tcbInfo.tdxModuleIdentities[${i}]`)
    ),
    tcbLevels: arr(o.tcbLevels, "tcbInfo.tcbLevels").map((l, i) =>
      platformLevel(l, `tcbInfo.tcbLevels[${i}]`)
    ),
  };
  if (o.tdxModule !== undefined) {
    const m = record(o.tdxModule, "tcbInfo.tdxModule");
    info.tdxModule = {
      mrsigner: hexField(m.mrsigner, "tcbInfo.tdxModule.mrsigner"),
      attributes: hexField(m.attributes, "tcbInfo.tdxModule.attributes"),
      attributesMask: hexField(m.attributesMask, "tcbInfo.tdxModule.attributesMask"),
    };
  }
  return info;
}

function parseQeIdentityBody(v: unknown): QeIdentity {
  const o = record(v, "enclaveIdentity");
  return {
    id: text(o.id, "enclaveIdentity.id"),
    version: intField(o.version, "enclaveIdentity.version"),
    issueDate: isoField(o.issueDate, "enclaveIdentity.issueDate"),
    nextUpdate: isoField(o.nextUpdate, "enclaveIdentity.nextUpdate"),
    tcbEvaluationDataNumber: intField(
      o.tcbEvaluationDataNumber,
      "enclaveIdentity.tcbEvaluationDataNumber",
    ),
    miscselect: new DataView(ab(hexField(o.miscselect, "enclaveIdentity.miscselect")).buffer)
      .getUint32(0),
    miscselectMask: new DataView(
      ab(hexField(o.miscselectMask, "enclaveIdentity.miscselectMask")).buffer,
    )
      .getUint32(0),
    attributes: hexField(o.attributes, "enclaveIdentity.attributes"),
    attributesMask: hexField(o.attributesMask, "enclaveIdentity.attributesMask"),
    mrsigner: hexField(o.mrsigner, "enclaveIdentity.mrsigner"),
    isvprodid: intField(o.isvprodid, "enclaveIdentity.isvprodid"),
    tcbLevels: arr(o.tcbLevels, "enclaveIdentity.tcbLevels").map((l, i) =>
      isvLevel(l, `enclaveIdentity.tcbLevels[${i}]`)
    ),
  };
}

function signedDocument<T>(
  raw: string,
  key: string,
  parse: (v: unknown) => T,
  what: string,
): Signed<T> {
  try {
    const doc = record(JSON.parse(raw), what);
    const prefix = `{"${key}":`;
    const suffix = raw.lastIndexOf(`,"signature"`);
    const signedText = raw.startsWith(prefix) && suffix > prefix.length
      ? raw.slice(prefix.length, suffix)
      : JSON.stringify(doc[key]);
    return {
      body: parse(doc[key]),
      signedText,
      signature: hexField(doc.signature, `${what}.signature`),
    };
  } catch (err) {
    if (err instanceof VerifierError) throw err;
    throw new VerifierError(
      "collateral-unavailable",
      `Cannot verify TDX evidence: ${what} is malformed: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Parses a PCS TCB info response body `{"tcbInfo": {…}, "signature": hex}`. */
export function parseTcbInfo(raw: string): Signed<TcbInfo> {
  return signedDocument(raw.trim(), "tcbInfo", parseTcbInfoBody, "TCB info");
}

/** Parses a PCS enclave identity response body `{"enclaveIdentity": {…}, "signature": hex}`. */
export function parseQeIdentity(raw: string): Signed<QeIdentity> {
  return signedDocument(raw.trim(), "enclaveIdentity", parseQeIdentityBody, "QE identity");
}

const verifiedDocs = new Set<string>();

/** Verifies a collateral document's ECDSA P-256 signature with the TCB signing certificate. */
export async function checkCollateralSignature(
  doc: Signed<unknown>,
  signer: x509.X509Certificate,
  what: string,
): Promise<void> {
  const memo = `${doc.signature.toHex()}/${
    new Uint8Array(signer.rawData).toHex()
  }/${doc.signedText}`;
  if (verifiedDocs.has(memo)) return;
  let ok = false;
  try {
    const key = await signer.publicKey.export(
      { name: "ECDSA", namedCurve: "P-256" },
      ["verify"],
      crypto,
    );
    ok = doc.signature.length === 64 && await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      ab(doc.signature),
      new TextEncoder().encode(doc.signedText),
    );
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new VerifierError(
      "bad-signature",
      `Cannot verify TDX evidence: ${what} signature does not verify with the TCB signing key`,
    );
  }
  if (verifiedDocs.size > 256) verifiedDocs.clear();
  verifiedDocs.add(memo);
}
