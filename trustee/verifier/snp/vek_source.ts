/**
 * Where the VCEK/VLEK comes from, in order: the evidence `cert_chain` (first VCEK or VLEK entry;
 * when a chain is present the VEK must be in it), then `collateralDir`
 * (`vcek/<hwid>/bl.._tee.._snp.._ucode..[_fmc..]_vcek.der`, falling back to `vcek/<hwid>/vcek.der`,
 * as Trustee's OfflineStore), then the AMD KDS with an in-memory cache.
 */
import { join } from "node:path";
import type { SnpCertEntry, SnpProduct, SnpReport } from "@coco/lib/tee/snp";
import { VerifierError, type VerifierOptions } from "../types.ts";
import type { VekKind } from "./chain.ts";
import { type AmdCert, certDataToDer, parseAmdCertCached } from "./x509.ts";

/** Default AMD Key Distribution Service. */
export const AMD_KDS_URL = "https://kdsintf.amd.com";

/** The chosen VEK, plus ARK/ASK certificates the evidence offered. */
export interface VekChoice {
  vek: AmdCert;
  kind: VekKind;
  ark?: AmdCert | undefined;
  ask?: AmdCert | undefined;
  source: "evidence" | "collateral-dir" | "kds";
}

function parseCert(der: Uint8Array, what: string): AmdCert {
  try {
    return parseAmdCertCached(certDataToDer(der));
  } catch (err) {
    throw new VerifierError(
      "bad-certificate-chain",
      `Cannot verify SNP evidence: certificate chain check failed: ${what} is not a valid X.509 certificate`,
      { cause: err },
    );
  }
}

/** Picks the VEK (and any ARK/ASK) from a non-empty evidence cert chain. */
export function vekFromChain(chain: readonly SnpCertEntry[]): VekChoice {
  const find = (t: string) => chain.find((e) => e.cert_type === t);
  const vekEntry = chain.find((e) => e.cert_type === "VCEK" || e.cert_type === "VLEK");
  if (!vekEntry) {
    throw new VerifierError(
      "bad-certificate-chain",
      "Cannot verify SNP evidence: certificate chain check failed: cert_chain is present but holds no VCEK or VLEK",
    );
  }
  const kind = vekEntry.cert_type as VekKind;
  const ark = find("ARK");
  const ask = find("ASK");
  return {
    vek: parseCert(vekEntry.data, `the ${kind} in cert_chain`),
    kind,
    ark: ark && parseCert(ark.data, "the ARK in cert_chain"),
    ask: ask && parseCert(ask.data, "the ASK in cert_chain"),
    source: "evidence",
  };
}

/** Hex hardware id used in KDS URLs and store paths (Turin: first 8 bytes of CHIP_ID). */
export function kdsHwId(report: SnpReport, product: SnpProduct): string {
  const id = product === "Turin" ? report.chip_id.subarray(0, 8) : report.chip_id;
  if (id.every((b) => b === 0)) {
    throw new VerifierError(
      "collateral-unavailable",
      "Cannot verify SNP evidence: no VCEK in the evidence and CHIP_ID is masked (all zero), so none can be looked up",
    );
  }
  return id.toHex();
}

const two = (n: number) => String(n).padStart(2, "0");

/** KDS query string for the report's REPORTED_TCB. */
export function kdsQuery(report: SnpReport, product: SnpProduct): string {
  const t = report.reported_tcb;
  const fmc = product === "Turin" ? `fmcSPL=${two(t.fmc ?? 0)}&` : "";
  return `?${fmc}blSPL=${two(t.bootloader)}&teeSPL=${two(t.tee)}&snpSPL=${two(t.snp)}&ucodeSPL=${
    two(t.microcode)
  }`;
}

async function readIfExists(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw new VerifierError(
      "collateral-unavailable",
      `Cannot verify SNP evidence: cannot read VCEK file ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Looks the VCEK up in an OfflineStore-style directory. */
export async function vekFromDir(
  dir: string,
  report: SnpReport,
  product: SnpProduct,
): Promise<VekChoice | undefined> {
  const t = report.reported_tcb;
  const fmc = product === "Turin" ? `_fmc${two(t.fmc ?? 0)}` : "";
  const base = join(dir, "vcek", kdsHwId(report, product));
  const name = `bl${two(t.bootloader)}_tee${two(t.tee)}_snp${two(t.snp)}_ucode${
    two(t.microcode)
  }${fmc}_vcek.der`;
  for (const path of [join(base, name), join(base, "vcek.der")]) {
    const data = await readIfExists(path);
    if (data) {
      return { vek: parseCert(data, `VCEK file ${path}`), kind: "VCEK", source: "collateral-dir" };
    }
  }
  return undefined;
}

const KDS_CACHE_MAX = 256;
const kdsCache = new Map<string, Promise<Uint8Array>>();

async function fetchDer(url: string, fetchFn: typeof fetch): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetchFn(url);
  } catch (err) {
    throw new VerifierError(
      "collateral-unavailable",
      `Cannot verify SNP evidence: cannot fetch the VCEK from ${url}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const body = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) {
    throw new VerifierError(
      "collateral-unavailable",
      `Cannot verify SNP evidence: cannot fetch the VCEK from ${url}: HTTP ${res.status}`,
    );
  }
  return body;
}

/** Fetches the VCEK from the KDS (cached in memory per URL; failures are not cached). */
export async function vekFromKds(
  report: SnpReport,
  product: SnpProduct,
  options: VerifierOptions,
): Promise<VekChoice> {
  const base = (options.kdsUrl ?? AMD_KDS_URL).replace(/\/+$/, "");
  const url = `${base}/vcek/v1/${product}/${kdsHwId(report, product)}${kdsQuery(report, product)}`;
  let p = kdsCache.get(url);
  if (!p) {
    p = fetchDer(url, options.fetch ?? fetch);
    p.catch(() => kdsCache.delete(url));
    if (kdsCache.size >= KDS_CACHE_MAX) kdsCache.delete(kdsCache.keys().next().value!);
    kdsCache.set(url, p);
  }
  return { vek: parseCert(await p, `the VCEK from ${url}`), kind: "VCEK", source: "kds" };
}

/**
 * Resolves the VEK in source order. The KDS is asked when `kdsUrl` is set or when no
 * `collateralDir` is configured (Trustee's default source is the KDS).
 */
export async function resolveVek(
  report: SnpReport,
  product: SnpProduct,
  chain: readonly SnpCertEntry[] | null,
  options: VerifierOptions,
): Promise<VekChoice> {
  if (chain && chain.length > 0) return vekFromChain(chain);
  if (options.collateralDir !== undefined) {
    const found = await vekFromDir(options.collateralDir, report, product);
    if (found) return found;
    if (options.kdsUrl === undefined) {
      throw new VerifierError(
        "collateral-unavailable",
        `Cannot verify SNP evidence: no VCEK in the evidence and none for CHIP_ID ${
          kdsHwId(report, product).slice(0, 16)
        }… under ${options.collateralDir}/vcek/`,
      );
    }
  }
  return await vekFromKds(report, product, options);
}
