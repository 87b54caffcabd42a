/**
 * The `snp` verifier: AMD SEV-SNP evidence (sev-crate JSON) checked down to the embedded AMD roots.
 *
 * Order (each failure throws {@linkcode VerifierError} naming the check): parse → version 3..5 →
 * product from CPUID → VEK (evidence, collateral dir, KDS) → chain ARK→ASK/ASVK→VEK (RSA-PSS) →
 * certificate validity at `now` → hardware id → TCB vs VEK → report signature (ECDSA P-384 over
 * the re-encoded report) → VMPL 0 → REPORT_DATA → HOST_DATA. Claims follow spec §3.8.
 *
 * @module
 */
import type { JsonValue } from "@coco/lib/json";
import {
  parseSnpEvidence,
  parseSnpReport,
  SNP_SIGNED_SIZE,
  type SnpCertEntry,
  SnpFormatError,
  type SnpProduct,
  snpProductOf,
  type SnpReport,
  snpSignedBytes,
} from "@coco/lib/tee/snp";
import { bytesEqual, regularize } from "@coco/lib/bytes";
import type { VerifiedClaims, Verifier, VerifierOptions, VerifyInput } from "../types.ts";
import { VerifierError } from "../types.ts";
import { checkValidity, verifyChain } from "./chain.ts";
import { checkHwId, checkReportSignature, checkTcb } from "./checks.ts";
import { snpClaims } from "./claims.ts";
import { resolveVek, type VekChoice, vekFromChain } from "./vek_source.ts";
import { parseAmdCertCached, pemToDers } from "./x509.ts";

export { snpClaims } from "./claims.ts";
export { AMD_KDS_URL } from "./vek_source.ts";

function badEvidence(err: unknown): never {
  if (err instanceof VerifierError) throw err;
  throw new VerifierError(
    "bad-evidence",
    `Cannot verify SNP evidence: ${(err as Error).message}`,
    { cause: err },
  );
}

function wrapFormat<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof SnpFormatError) badEvidence(err);
    throw err;
  }
}

async function verifyCore(
  report: SnpReport,
  signed: Uint8Array,
  product: SnpProduct,
  choice: VekChoice,
  options: VerifierOptions,
): Promise<void> {
  const chain = await verifyChain({ product, ...choice });
  checkValidity(chain, options.now?.() ?? new Date());
  checkHwId(report, choice.vek, choice.kind);
  checkTcb(report, choice.vek, product);
  await checkReportSignature(report, signed, choice.vek);
}

const PRODUCTS: readonly SnpProduct[] = ["Milan", "Genoa", "Turin"];

function productFromCerts(choice: VekChoice): SnpProduct | undefined {
  const names = [choice.vek.issuerCn, choice.ask?.subjectCn ?? ""];
  return PRODUCTS.find((p) => names.some((n) => n === `SEV-${p}` || n === `SEV-VLEK-${p}`));
}

function pemCertType(cn: string): SnpCertEntry["cert_type"] {
  if (cn === "SEV-VLEK") return "VLEK";
  if (cn.startsWith("ARK-")) return "ARK";
  if (cn.startsWith("SEV-") && cn !== "SEV-VCEK") return "ASK";
  return "VCEK";
}

/** Classifies the PEM certificates by subject CN (SEV-VCEK, SEV-VLEK, SEV-<Product>, ARK-…). */
function entriesFromPem(pem: string): SnpCertEntry[] {
  return pemToDers(pem).map((der, i) => {
    let cn: string;
    try {
      cn = parseAmdCertCached(der).subjectCn;
    } catch (err) {
      throw new VerifierError(
        "bad-certificate-chain",
        `Cannot verify SNP report: certificate chain check failed: certificate ${i} of the VEK chain PEM is not a valid X.509 certificate`,
        { cause: err },
      );
    }
    return { cert_type: pemCertType(cn), data: der };
  });
}

/**
 * Verifies a raw 1184-byte report (versions 2-5): chain, validity, hardware id, TCB and the
 * signature over the raw bytes [0, 0x2A0). No report-data, VMPL or host-data checks. The VEK
 * comes from `vekChainPem` (VCEK/VLEK, optionally ASK and ARK, any order) or, when undefined, from
 * the collateral dir / KDS. For version-2 reports the product is taken from the certificates.
 */
export async function verifySnpReport(
  report: Uint8Array,
  vekChainPem: string | undefined,
  options: VerifierOptions,
): Promise<{ report: SnpReport; claims: Record<string, JsonValue> }> {
  const parsed = wrapFormat(() => parseSnpReport(report));
  const cpuProduct = wrapFormat(() => snpProductOf(parsed));
  let choice: VekChoice;
  let product: SnpProduct | undefined = cpuProduct;
  if (vekChainPem !== undefined) {
    choice = vekFromChain(entriesFromPem(vekChainPem));
    product ??= productFromCerts(choice);
  } else if (product) {
    choice = await resolveVek(parsed, product, null, options);
  } else {
    throw new VerifierError(
      "collateral-unavailable",
      "Cannot verify SNP report: version 2 report without a VEK certificate (the product cannot be told)",
    );
  }
  if (!product) {
    throw new VerifierError(
      "bad-evidence",
      `Cannot verify SNP report: cannot tell the product from CPUID or the VEK issuer ${choice.vek.issuerCn}`,
    );
  }
  await verifyCore(parsed, report.subarray(0, SNP_SIGNED_SIZE), product, choice, options);
  return { report: parsed, claims: snpClaims(parsed) };
}

/** Verifier for AMD SEV-SNP evidence. */
export class SnpVerifier implements Verifier {
  readonly tee = "snp" as const;
  readonly #options: VerifierOptions;

  /** `options`: `now`, `collateralDir`, `kdsUrl`, `fetch` are used. */
  constructor(options: VerifierOptions = {}) {
    this.#options = options;
  }

  async evaluate(input: VerifyInput): Promise<VerifiedClaims[]> {
    const { report, certChain } = wrapFormat(() => parseSnpEvidence(input.evidence));
    if (report.version < 3 || report.version > 5) {
      throw new VerifierError(
        "bad-evidence",
        `Cannot verify SNP evidence: report version ${report.version} is not accepted (3 to 5; the product is read from CPUID)`,
      );
    }
    const product = snpProductOf(report)!;
    const choice = await resolveVek(report, product, certChain, this.#options);
    await verifyCore(report, snpSignedBytes(report), product, choice, this.#options);
    if (report.vmpl !== 0) {
      throw new VerifierError(
        "policy-violation",
        `Cannot verify SNP evidence: VMPL check failed: the report was requested at VMPL ${report.vmpl}, not 0`,
      );
    }
    if (input.reportData && !bytesEqual(regularize(input.reportData, 64), report.report_data)) {
      throw new VerifierError(
        "report-data-mismatch",
        "Cannot verify SNP evidence: report data check failed: REPORT_DATA does not match the expected runtime data",
      );
    }
    if (input.initDataHash && !bytesEqual(regularize(input.initDataHash, 32), report.host_data)) {
      throw new VerifierError(
        "init-data-mismatch",
        "Cannot verify SNP evidence: host data check failed: HOST_DATA does not match the init-data digest",
      );
    }
    return [{ claims: snpClaims(report), teeClass: "cpu" }];
  }
}
