/** Report-vs-certificate checks: hardware id, TCB (exact per field) and the ECDSA signature. */
import { ab, bytesEqual } from "@coco/lib/bytes";
import {
  decodeKeyInfo,
  type SnpProduct,
  type SnpReport,
  snpSignatureP1363,
} from "@coco/lib/tee/snp";
import { VerifierError } from "../types.ts";
import type { VekKind } from "./chain.ts";
import { type AmdCert, publicKeyOf, vekHwId, vekTcb } from "./x509.ts";

const fail = (
  code: "tcb-mismatch" | "policy-violation" | "bad-signature",
  msg: string,
  cause?: unknown,
) =>
  new VerifierError(
    code,
    `Cannot verify SNP evidence: ${msg}`,
    cause === undefined ? {} : { cause },
  );

/**
 * VCEK hwID must equal CHIP_ID (Turin: the first 8 bytes). Skipped for VLEKs (no hwID) and when
 * the report masks CHIP_ID (KEY_INFO.MASK_CHIP_KEY). Trustee only runs this for a CN of "VCEK",
 * i.e. never; we always do.
 */
export function checkHwId(report: SnpReport, vek: AmdCert, kind: VekKind): void {
  if (kind !== "VCEK" || decodeKeyInfo(report.key_info).maskChipKey) return;
  let hwId: Uint8Array | undefined;
  try {
    hwId = vekHwId(vek);
  } catch (err) {
    throw fail("policy-violation", `hardware id check failed: ${(err as Error).message}`, err);
  }
  if (!hwId) {
    throw fail("policy-violation", "hardware id check failed: the VCEK has no hwID extension");
  }
  const chip = report.chip_id.subarray(0, hwId.length === 8 ? 8 : 64);
  if (!bytesEqual(hwId, chip)) {
    throw fail(
      "policy-violation",
      `hardware id check failed: CHIP_ID ${chip.toHex().slice(0, 16)}… differs from the VCEK hwID ${
        hwId.toHex().slice(0, 16)
      }…`,
    );
  }
}

/** REPORTED_TCB must equal the VEK's SPL extensions field by field (fmc only on Turin). */
export function checkTcb(report: SnpReport, vek: AmdCert, product: SnpProduct): void {
  let cert;
  try {
    cert = vekTcb(vek);
  } catch (err) {
    throw fail("tcb-mismatch", `TCB check failed: ${(err as Error).message}`, err);
  }
  const t = report.reported_tcb;
  const pairs: [string, number, number | undefined][] = [
    ["microcode (ucodeSPL)", t.microcode, cert.microcode],
    ["SNP (snpSPL)", t.snp, cert.snp],
    ["TEE (teeSPL)", t.tee, cert.tee],
    ["boot loader (blSPL)", t.bootloader, cert.bootloader],
  ];
  if (product === "Turin") pairs.push(["FMC (fmcSPL)", t.fmc ?? 0, cert.fmc]);
  for (const [name, inReport, inCert] of pairs) {
    if (inReport !== inCert) {
      throw fail(
        "tcb-mismatch",
        `TCB check failed: reported ${name} ${inReport} differs from the VEK certificate's ${
          inCert ?? "(absent)"
        }`,
      );
    }
  }
}

/** ECDSA P-384/SHA-384 over `signed` with the VEK key. */
export async function checkReportSignature(
  report: SnpReport,
  signed: Uint8Array,
  vek: AmdCert,
): Promise<void> {
  let ok: boolean;
  try {
    const key = await publicKeyOf(vek, { name: "ECDSA", namedCurve: "P-384" });
    ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-384" },
      key,
      snpSignatureP1363(report),
      ab(signed),
    );
  } catch (err) {
    throw fail("bad-signature", `report signature check failed: ${(err as Error).message}`, err);
  }
  if (!ok) {
    throw fail(
      "bad-signature",
      `report signature check failed: the signature does not verify with the ${vek.subjectCn} key`,
    );
  }
}
