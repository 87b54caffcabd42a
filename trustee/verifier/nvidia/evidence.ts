/**
 * NVIDIA evidence JSON (spec/evidence.md §10.1): `{"device_evidence_list": [{"arch", "uuid"?,
 * "evidence", "certificate"}]}` as the guest's NVAT/NVML attester sends it. `evidence` is the raw
 * report in hex (the original encoding) or standard base64; `certificate` is base64 of the PEM
 * chain text. Unknown keys are ignored, as serde does for Trustee.
 *
 * @module
 */
import { obj, optStr, str } from "@coco/lib/json/fields";
import { VerifierError } from "../types.ts";

/** Device architectures Trustee accepts (serde names and aliases → canonical name). */
const ARCHES: Readonly<Record<string, NvidiaArch>> = {
  Hopper: "Hopper",
  HOPPER: "Hopper",
  Blackwell: "Blackwell",
  BLACKWELL: "Blackwell",
  LS10: "LS10",
};

/** A device architecture named in evidence. Only `Hopper` can be verified locally. */
export type NvidiaArch = "Hopper" | "Blackwell" | "LS10";

/** One device's evidence, decoded. */
export interface NvidiaDeviceEvidence {
  arch: NvidiaArch;
  uuid: string;
  /** Raw report bytes (SPDM request ‖ response). */
  report: Uint8Array;
  /** PEM text of the certificate chain, leaf first. */
  certificatePem: string;
}

function bad(message: string, cause?: unknown): never {
  throw new VerifierError(
    "bad-evidence",
    `Cannot verify NVIDIA evidence: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Hex first (Trustee's order: "someone may still use the original encoding"), then base64. */
function decodeReport(text: string, path: string): Uint8Array {
  if (text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text)) return Uint8Array.fromHex(text);
  try {
    return Uint8Array.fromBase64(text);
  } catch (err) {
    return bad(`${path} is neither hex nor base64`, err);
  }
}

function parseDevice(value: unknown, i: number): NvidiaDeviceEvidence {
  const path = `device_evidence_list[${i}]`;
  const o = obj(value, path);
  const archName = str(o.arch, `${path}.arch`);
  const arch = Object.hasOwn(ARCHES, archName) ? ARCHES[archName] : undefined;
  if (!arch) bad(`${path}.arch "${archName}" is not one of ${Object.keys(ARCHES).join(", ")}`);
  const certB64 = str(o.certificate, `${path}.certificate`);
  let certificatePem: string;
  try {
    certificatePem = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.fromBase64(certB64),
    );
  } catch (err) {
    return bad(`${path}.certificate is not base64 of PEM text`, err);
  }
  return {
    arch,
    uuid: optStr(o.uuid, `${path}.uuid`) ?? "unknown",
    report: decodeReport(str(o.evidence, `${path}.evidence`), `${path}.evidence`),
    certificatePem,
  };
}

/** Parses the evidence JSON; at least one device is required. */
export function parseNvidiaEvidence(evidence: unknown): NvidiaDeviceEvidence[] {
  try {
    const list = obj(evidence, "NVIDIA evidence").device_evidence_list;
    if (!Array.isArray(list)) bad("device_evidence_list must be an array");
    if (list.length === 0) bad("device_evidence_list is empty");
    return list.map(parseDevice);
  } catch (err) {
    if (err instanceof VerifierError) throw err;
    return bad((err as Error).message, err);
  }
}
