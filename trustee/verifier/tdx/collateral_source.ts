/**
 * Where DCAP collateral comes from: a local directory (offline), a PCCS / Intel PCS over HTTP,
 * and an in-memory cache keyed by FMSPC and CA type that refetches once the collateral's
 * earliest `nextUpdate` has passed. Directory layout: README.md in this folder.
 */
import { join } from "node:path";
import { VerifierError } from "../types.ts";
import { parseCrl, parsePemChain, type x509 } from "./_x509.ts";
import {
  parseQeIdentity,
  parseTcbInfo,
  type QeIdentity,
  type Signed,
  type TcbInfo,
} from "./collateral.ts";

/** Everything QVL needs besides the quote. */
export interface CollateralBundle {
  tcbInfo: Signed<TcbInfo>;
  /** TCB-Info-Issuer-Chain: TCB signing cert, root. */
  tcbInfoChain: x509.X509Certificate[];
  qeIdentity: Signed<QeIdentity>;
  /** SGX-Enclave-Identity-Issuer-Chain. */
  qeIdentityChain: x509.X509Certificate[];
  /** CRL of the PCK intermediate named by the quote (platform or processor), when available. */
  pckCrl?: x509.X509Crl;
  /** Intel SGX Root CA CRL, when available. */
  rootCrl?: x509.X509Crl;
}

/** Supplies collateral for a platform. */
export interface CollateralSource {
  get(fmspc: string, ca: "platform" | "processor"): Promise<CollateralBundle>;
}

function unavailable(msg: string, cause?: unknown): never {
  throw new VerifierError(
    "collateral-unavailable",
    `Cannot verify TDX evidence: ${msg}`,
    cause ? { cause } : undefined,
  );
}

async function readOptional(path: string): Promise<Uint8Array | undefined> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    unavailable(`cannot read ${path}`, err);
  }
}

async function readFirst(dir: string, names: string[]): Promise<Uint8Array | undefined> {
  for (const n of names) {
    const b = await readOptional(join(dir, n));
    if (b) return b;
  }
  return undefined;
}

/** Reads collateral from a directory (layout in README.md). */
export class DirCollateralSource implements CollateralSource {
  constructor(readonly dir: string) {}

  async get(fmspc: string, ca: "platform" | "processor"): Promise<CollateralBundle> {
    const dec = new TextDecoder();
    const f = fmspc.toLowerCase();
    const tcb =
      await readFirst(this.dir, [`tcbinfo-${f}.json`, `tcbinfo-${f.toUpperCase()}.json`]) ??
        unavailable(`no TCB info for FMSPC ${f} in ${this.dir} (expected tcbinfo-${f}.json)`);
    const qe = await readFirst(this.dir, ["qe-identity.json"]) ??
      unavailable(`no qe-identity.json in ${this.dir}`);
    const chainPem = await readFirst(this.dir, ["tcb-signing-chain.pem"]) ??
      unavailable(`no tcb-signing-chain.pem in ${this.dir}`);
    const qeChainPem = await readFirst(this.dir, ["qe-identity-chain.pem"]) ?? chainPem;
    const bundle: CollateralBundle = {
      tcbInfo: parseTcbInfo(dec.decode(tcb)),
      tcbInfoChain: parsePemChain(dec.decode(chainPem), "tcb-signing-chain.pem"),
      qeIdentity: parseQeIdentity(dec.decode(qe)),
      qeIdentityChain: parsePemChain(dec.decode(qeChainPem), "the QE identity issuer chain"),
    };
    const pck = await readFirst(this.dir, [`pck-crl-${ca}.der`, `pck-crl-${ca}.pem`]);
    if (pck) bundle.pckCrl = parseCrl(pck, `pck-crl-${ca}`);
    const root = await readFirst(this.dir, ["root-ca-crl.der", "root-ca-crl.pem"]);
    if (root) bundle.rootCrl = parseCrl(root, "root-ca-crl");
    return bundle;
  }
}

/**
 * Fetches collateral from a PCCS or Intel PCS (v4 API). As Trustee, only the URL's origin is
 * kept; paths are rebuilt (`/tdx/certification/v4/tcb`, `/tdx/certification/v4/qe/identity`,
 * `/sgx/certification/v4/pckcrl`, `/sgx/certification/v4/rootcacrl`).
 */
export class PccsCollateralSource implements CollateralSource {
  readonly origin: string;
  constructor(url: string, private readonly fetchFn: typeof fetch = fetch) {
    this.origin = new URL(url).origin;
  }

  private async request(path: string): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchFn(`${this.origin}${path}`);
    } catch (err) {
      unavailable(`cannot reach ${this.origin}${path}`, err);
    }
    if (!res.ok) {
      await res.body?.cancel();
      unavailable(`${this.origin}${path} answered HTTP ${res.status}`);
    }
    return res;
  }

  private chain(res: Response, header: string): x509.X509Certificate[] {
    const v = res.headers.get(header) ?? unavailable(`response lacks the ${header} header`);
    return parsePemChain(decodeURIComponent(v), header);
  }

  async get(fmspc: string, ca: "platform" | "processor"): Promise<CollateralBundle> {
    const tcbRes = await this.request(`/tdx/certification/v4/tcb?fmspc=${fmspc.toUpperCase()}`);
    const tcbInfoChain = this.chain(tcbRes, "TCB-Info-Issuer-Chain");
    const tcbInfo = parseTcbInfo(await tcbRes.text());
    const qeRes = await this.request("/tdx/certification/v4/qe/identity");
    const qeIdentityChain = this.chain(qeRes, "SGX-Enclave-Identity-Issuer-Chain");
    const qeIdentity = parseQeIdentity(await qeRes.text());
    const crlRes = await this.request(`/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`);
    const pckCrl = parseCrl(new Uint8Array(await crlRes.arrayBuffer()), `PCK ${ca} CA CRL`);
    const rootRes = await this.request("/sgx/certification/v4/rootcacrl");
    const rootCrl = parseCrl(new Uint8Array(await rootRes.arrayBuffer()), "root CA CRL");
    return { tcbInfo, tcbInfoChain, qeIdentity, qeIdentityChain, pckCrl, rootCrl };
  }
}

/**
 * Earliest `nextUpdate` of a bundle's TCB info and QE identity: the cache lifetime. CRL
 * `nextUpdate` is not used (QVL does not let it decide expiry either, and Intel's PCK CRLs are
 * often republished late).
 */
export function bundleNextUpdate(b: CollateralBundle): Date {
  return new Date(
    Math.min(b.tcbInfo.body.nextUpdate.getTime(), b.qeIdentity.body.nextUpdate.getTime()),
  );
}

/**
 * Caches bundles per (FMSPC, CA) until their earliest `nextUpdate`, then asks the inner source
 * again; if that fails, the stale bundle is still used (its expiry shows up in the claims as
 * `collateral_expiration_status` "1").
 */
export class CachedCollateralSource implements CollateralSource {
  private readonly cache = new Map<string, { bundle: CollateralBundle; until: number }>();
  constructor(private readonly inner: CollateralSource, private readonly now: () => Date) {}

  async get(fmspc: string, ca: "platform" | "processor"): Promise<CollateralBundle> {
    const key = `${fmspc.toLowerCase()}/${ca}`;
    const hit = this.cache.get(key);
    if (hit && this.now().getTime() < hit.until) return hit.bundle;
    try {
      const bundle = await this.inner.get(fmspc, ca);
      this.cache.set(key, { bundle, until: bundleNextUpdate(bundle).getTime() });
      return bundle;
    } catch (err) {
      if (hit) return hit.bundle;
      throw err;
    }
  }
}
