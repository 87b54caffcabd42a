/**
 * The AMD certificate chain: ARK (embedded, self-signed) → ASK or ASVK → VCEK or VLEK, all
 * RSASSA-PSS. Beyond Trustee, every certificate's validity period is checked at `now`.
 */
import { bytesEqual } from "@coco/lib/bytes";
import type { SnpProduct } from "@coco/lib/tee/snp";
import { VerifierError } from "../types.ts";
import { AMD_ROOT_PEMS } from "./roots.ts";
import { type AmdCert, parseAmdCert, pemToDers, verifyPssSignature } from "./x509.ts";

/** Which versioned endorsement key signs the report. */
export type VekKind = "VCEK" | "VLEK";

/** The embedded roots of one product, parsed. */
export interface AmdRoots {
  ark: AmdCert;
  ask: AmdCert;
  asvk: AmdCert;
}

const rootCache = new Map<SnpProduct, Promise<AmdRoots>>();

async function loadRoots(product: SnpProduct): Promise<AmdRoots> {
  const pems = AMD_ROOT_PEMS[product];
  const one = (pem: string) => parseAmdCert(pemToDers(pem)[0]!);
  const roots = { ark: one(pems.ark), ask: one(pems.ask), asvk: one(pems.asvk) };
  // The embedded roots are checked once: a corrupted build must not verify anything.
  await link(roots.ark, roots.ark, `ARK-${product} self-signature`);
  await link(roots.ask, roots.ark, `ASK (SEV-${product}) under ARK`);
  await link(roots.asvk, roots.ark, `ASVK (SEV-VLEK-${product}) under ARK`);
  return roots;
}

/** The embedded, verified roots of `product` (parsed and checked once per process). */
export function amdRoots(product: SnpProduct): Promise<AmdRoots> {
  let p = rootCache.get(product);
  if (!p) {
    p = loadRoots(product);
    p.catch(() => rootCache.delete(product));
    rootCache.set(product, p);
  }
  return p;
}

/** Links already verified (cert → issuers); signatures over identical bytes cannot change. */
const verifiedLinks = new WeakMap<AmdCert, WeakSet<AmdCert>>();

async function link(cert: AmdCert, issuer: AmdCert, what: string): Promise<void> {
  if (verifiedLinks.get(cert)?.has(issuer)) return;
  let ok: boolean;
  try {
    ok = await verifyPssSignature(cert, issuer);
  } catch (err) {
    throw new VerifierError(
      "bad-certificate-chain",
      `Cannot verify SNP evidence: certificate chain check failed (${what}): ${
        (err as Error).message
      }`,
      { cause: err },
    );
  }
  if (!ok) {
    throw new VerifierError(
      "bad-certificate-chain",
      `Cannot verify SNP evidence: certificate chain check failed (${what}): signature does not verify`,
    );
  }
  let issuers = verifiedLinks.get(cert);
  if (!issuers) verifiedLinks.set(cert, issuers = new WeakSet());
  issuers.add(issuer);
}

/** Certificates offered for the chain; absent ones come from the embedded roots. */
export interface ChainInput {
  product: SnpProduct;
  vek: AmdCert;
  kind: VekKind;
  ark?: AmdCert | undefined;
  ask?: AmdCert | undefined;
}

/** The verified chain, leaf first. */
export interface VerifiedChain {
  vek: AmdCert;
  intermediate: AmdCert;
  ark: AmdCert;
}

/**
 * Verifies ARK → ASK/ASVK → VEK signatures. An offered ARK must carry the embedded ARK's key and
 * verify under it; an offered ASK must verify under the ARK (as Trustee: when the evidence has an
 * ASK entry it is used even for a VLEK, which then fails unless it is really the ASVK).
 */
export async function verifyChain(input: ChainInput): Promise<VerifiedChain> {
  const roots = await amdRoots(input.product);
  let ark = roots.ark;
  if (input.ark) {
    if (!bytesEqual(input.ark.spki, roots.ark.spki)) {
      throw new VerifierError(
        "bad-certificate-chain",
        `Cannot verify SNP evidence: certificate chain check failed: the ARK in the evidence is not AMD's ARK-${input.product}`,
      );
    }
    await link(input.ark, roots.ark, `evidence ARK under the embedded ARK-${input.product}`);
    ark = input.ark;
  }
  const embedded = input.kind === "VLEK" ? roots.asvk : roots.ask;
  const intermediate = input.ask ?? embedded;
  const name = input.kind === "VLEK" ? "ASVK" : "ASK";
  if (input.ask) await link(input.ask, ark, `evidence ASK under ARK-${input.product}`);
  await link(input.vek, intermediate, `${input.kind} under ${name} (${intermediate.subjectCn})`);
  return { vek: input.vek, intermediate, ark };
}

/** Requires every certificate of the chain to be within its validity period at `now`. */
export function checkValidity(chain: VerifiedChain, now: Date): void {
  for (
    const [role, cert] of [["VEK", chain.vek], ["ASK/ASVK", chain.intermediate], [
      "ARK",
      chain.ark,
    ]] as const
  ) {
    if (now < cert.notBefore || now > cert.notAfter) {
      throw new VerifierError(
        "expired",
        `Cannot verify SNP evidence: certificate validity check failed: ${role} ${cert.subjectCn} is valid from ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}, not at ${now.toISOString()}`,
      );
    }
  }
}
