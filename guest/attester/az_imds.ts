/**
 * Azure Instance Metadata Service (IMDS) calls of the Azure vTPM attesters (as kinvolk's
 * azure-cvm-tooling makes them): the VCEK of an SEV-SNP CVM from
 * `GET /metadata/THIM/amd/certification` (header `Metadata: true`; JSON `vcekCert` and
 * `certificateChain`, PEM) and the TD quote of a TDX CVM from `POST /acc/tdquote` with
 * `{"report": base64url(TDREPORT)}` answered by `{"quote": base64url}`. The base URL and `fetch`
 * are injected, so tests talk to a loopback fake and never to 169.254.169.254.
 */
import { obj, str } from "@coco/lib/json/fields";
import { AzVtpmError } from "./az_errors.ts";

/** The link-local IMDS endpoint of Azure VMs. */
export const AZURE_IMDS_URL = "http://169.254.169.254";
/** VCEK and AMD chain of the host (THIM). */
export const IMDS_VCEK_PATH = "/metadata/THIM/amd/certification";
/** TD quote for a TDREPORT. */
export const IMDS_TDQUOTE_PATH = "/acc/tdquote";

/** Where and how to reach IMDS. */
export interface AzImdsOptions {
  /** Default {@linkcode AZURE_IMDS_URL}. */
  baseUrl?: string;
  /** Default the global `fetch`. */
  fetch?: typeof fetch;
  /** Per-request timeout; default 10 000 ms. */
  timeoutMs?: number;
}

/** The VCEK as DER and the AMD chain (ASK, ARK) as IMDS sent it. */
export interface ImdsCertificates {
  vcek: Uint8Array;
  chainPem: string;
}

async function imdsJson(what: string, path: string, init: RequestInit, opts: AzImdsOptions) {
  const url = `${(opts.baseUrl ?? AZURE_IMDS_URL).replace(/\/+$/, "")}${path}`;
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), opts.timeoutMs ?? 10_000);
  let text: string;
  try {
    const res = await (opts.fetch ?? fetch)(url, { ...init, signal: ctl.signal });
    text = await res.text();
    if (!res.ok) {
      throw new AzVtpmError(
        "imds-unreachable",
        `Cannot get the ${what} from Azure IMDS ${url}: HTTP ${res.status} ${text.slice(0, 200)}`,
      );
    }
  } catch (err) {
    if (err instanceof AzVtpmError) throw err;
    throw new AzVtpmError(
      "imds-unreachable",
      `Cannot get the ${what} from Azure IMDS ${url}: ${err}`,
      {
        cause: err,
      },
    );
  } finally {
    clearTimeout(timer);
  }
  try {
    return obj(JSON.parse(text), "response");
  } catch (err) {
    throw new AzVtpmError(
      "imds-bad-response",
      `Cannot get the ${what} from Azure IMDS ${url}: the response is not a JSON object`,
      { cause: err },
    );
  }
}

function badResponse(what: string, detail: string, cause?: unknown): never {
  throw new AzVtpmError("imds-bad-response", `Cannot get the ${what} from Azure IMDS: ${detail}`, {
    cause,
  });
}

/** The DER bytes of the single CERTIFICATE block of `pem`. */
export function certificatePemToDer(pem: string): Uint8Array {
  const blocks = [...pem.matchAll(/-----BEGIN ([A-Z ]+)-----([^-]*)-----END \1-----/g)];
  if (blocks.length !== 1 || blocks[0]![1] !== "CERTIFICATE") {
    throw new TypeError(`expected one CERTIFICATE PEM block, found ${blocks.length} block(s)`);
  }
  const der = Uint8Array.fromBase64(blocks[0]![2]!.replace(/\s+/g, ""));
  if (der.length < 4 || der[0] !== 0x30) throw new TypeError("the PEM body is not a DER SEQUENCE");
  return der;
}

/** Fetches the VCEK (returned as DER, as evidence v1+ carries it) and the AMD chain PEM. */
export async function imdsCertificates(opts: AzImdsOptions = {}): Promise<ImdsCertificates> {
  const what = "VCEK";
  const doc = await imdsJson(what, IMDS_VCEK_PATH, { headers: { Metadata: "true" } }, opts);
  let vcekPem: string;
  let chainPem: string;
  try {
    vcekPem = str(doc.vcekCert, "vcekCert");
    chainPem = str(doc.certificateChain, "certificateChain");
  } catch (err) {
    badResponse(what, (err as Error).message, err);
  }
  try {
    return { vcek: certificatePemToDer(vcekPem), chainPem };
  } catch (err) {
    badResponse(what, `vcekCert: ${(err as Error).message}`, err);
  }
}

/** Asks IMDS to turn a 1024-byte TDREPORT into a TD quote. */
export async function imdsTdQuote(
  tdReport: Uint8Array,
  opts: AzImdsOptions = {},
): Promise<Uint8Array> {
  const what = "TD quote";
  const body = JSON.stringify({
    report: tdReport.toBase64({ alphabet: "base64url", omitPadding: true }),
  });
  const doc = await imdsJson(what, IMDS_TDQUOTE_PATH, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  }, opts);
  let quote: Uint8Array;
  try {
    quote = Uint8Array.fromBase64(str(doc.quote, "quote"), { alphabet: "base64url" });
  } catch (err) {
    badResponse(what, `quote must be base64url: ${(err as Error).message}`, err);
  }
  if (quote.length < 48) badResponse(what, `the quote is ${quote.length} bytes, too short`);
  return quote;
}
