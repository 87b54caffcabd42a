/**
 * The `nvidia` verifier, local mode (spec/evidence.md §10): NVIDIA Hopper GPU evidence checked
 * offline down to the embedded NVIDIA Device Identity CA, one `gpu` claims entry per device.
 *
 * Per device, each failure throwing a {@linkcode VerifierError} that names the device and the check:
 * parse evidence and report (`bad-evidence`) → architecture must be Hopper (`unsupported-tee`) →
 * certificate chain: ≥ 2 certs, pinned root, FWID of the leaf = report `fwid` (`tcb-mismatch`), path
 * to the embedded root with validity at `now` (`bad-certificate-chain`, `expired`) → report signature,
 * ECDSA P-384/SHA-384 by the leaf over request ‖ response minus the signature (`bad-signature`) →
 * request nonce = first 32 bytes of the expected report data (`report-data-mismatch`).
 * NRAS remote mode is not implemented (see README.md).
 *
 * @module
 */
import type { JsonValue } from "@coco/lib/json";
import { ab, bytesEqual, regularize } from "@coco/lib/bytes";
import type { VerifiedClaims, Verifier, VerifierOptions, VerifyInput } from "../types.ts";
import { VerifierError } from "../types.ts";
import { type NvidiaTrustAnchor, parseCertChain, signingKey, verifyNvidiaChain } from "./chain.ts";
import { type NvidiaDeviceEvidence, parseNvidiaEvidence } from "./evidence.ts";
import { HOPPER_SIGNATURE_SIZE, type NvidiaReport, parseNvidiaReport } from "./spdm.ts";

export {
  fwidFromCert,
  nvidiaRoot,
  parseCertChain,
  trustAnchor,
  verifyNvidiaChain,
} from "./chain.ts";
export type { NvidiaTrustAnchor } from "./chain.ts";
export { type NvidiaDeviceEvidence, parseNvidiaEvidence } from "./evidence.ts";
export { decodeOpaqueData } from "./opaque.ts";
export { FWID_OID, NVIDIA_DEVICE_ROOT_PEM, NVIDIA_DEVICE_ROOT_SHA1 } from "./root.ts";
export { type NvidiaReport, parseNvidiaReport } from "./spdm.ts";

/** Size of the SPDM nonce the report data is bound to. */
export const NVIDIA_NONCE_SIZE = 32;

/** Claims of one verified device (`arch`, `uuid`, `measurements`, `config`), as Trustee. */
export function nvidiaClaims(device: NvidiaDeviceEvidence, report: NvidiaReport) {
  const measurements: Record<string, JsonValue> = {};
  for (const b of report.response.blocks) measurements[String(b.index)] = b.value.toHex();
  return {
    arch: device.arch,
    uuid: device.uuid,
    measurements,
    config: report.response.opaque,
  } satisfies Record<string, JsonValue>;
}

function reportFwid(report: NvidiaReport): string {
  const fwid = report.response.opaque.fwid;
  if (fwid === undefined) throw new VerifierError("bad-evidence", "Nvidia report fwid not found");
  if (typeof fwid !== "string") {
    throw new VerifierError("bad-evidence", "Nvidia report fwid value mismatch");
  }
  return fwid;
}

/**
 * Verifies one device's evidence against `nonce` (already regularized to 32 bytes) at `now` and
 * returns its claims. Errors carry the bare check message; {@linkcode NvidiaVerifier} adds context.
 * `anchor` replaces the embedded NVIDIA root (tests with a synthetic PKI).
 */
export async function verifyNvidiaDevice(
  device: NvidiaDeviceEvidence,
  nonce: Uint8Array,
  now: Date,
  anchor?: NvidiaTrustAnchor,
): Promise<Record<string, JsonValue>> {
  if (device.arch !== "Hopper") {
    throw new VerifierError(
      "unsupported-tee",
      "Device architecture not supported (local verification is Hopper only)",
    );
  }
  const report = parseNvidiaReport(device.report, HOPPER_SIGNATURE_SIZE);
  const leaf = await verifyNvidiaChain(
    parseCertChain(device.certificatePem),
    reportFwid(report),
    now,
    anchor,
  );
  const signed = device.report.subarray(0, report.signedLength);
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-384" },
    await signingKey(leaf),
    ab(report.response.signature),
    ab(signed),
  );
  if (!ok) throw new VerifierError("bad-signature", "NVIDIA report signature verification failed.");
  if (!bytesEqual(report.request.nonce, nonce)) {
    throw new VerifierError(
      "report-data-mismatch",
      `Nvidia report nonce mismatch (report ${report.request.nonce.toHex()}, expected ${nonce.toHex()})`,
    );
  }
  return nvidiaClaims(device, report);
}

/** Verifier for NVIDIA GPU evidence (local mode, Hopper). */
export class NvidiaVerifier implements Verifier {
  readonly tee = "nvidia" as const;
  readonly #now: () => Date;

  constructor(options: VerifierOptions = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  async evaluate(input: VerifyInput): Promise<VerifiedClaims[]> {
    const devices = parseNvidiaEvidence(input.evidence);
    if (input.reportData === undefined) {
      throw new VerifierError(
        "report-data-mismatch",
        "Cannot verify NVIDIA evidence: Nvidia report data not provided (the report nonce must be bound to it)",
      );
    }
    const nonce = regularize(input.reportData, NVIDIA_NONCE_SIZE);
    const now = this.#now();
    const out: VerifiedClaims[] = [];
    for (const [i, device] of devices.entries()) {
      try {
        out.push({ claims: await verifyNvidiaDevice(device, nonce, now), teeClass: "gpu" });
      } catch (err) {
        if (!(err instanceof VerifierError)) throw err;
        throw new VerifierError(
          err.code,
          `Cannot verify NVIDIA evidence: device ${i} (${device.arch}, uuid ${device.uuid}): ${err.message}`,
          { cause: err },
        );
      }
    }
    return out;
  }
}
