/**
 * Where simple signatures come from (spec/guest.md §6.3): the lookaside store named by
 * registries.d (`file://` directories and `http(s)://` URLs, `signature-1`, `-2`… until the first
 * missing one), and the registry's `X-Registry-Supports-Signatures` extension API through the
 * injected {@linkcode SignatureRegistry}.
 */
import { fileURLToPath } from "node:url";
import type { ImageReference } from "@coco/lib/oci";
import { SignatureError } from "./errors.ts";
import { MAX_SIGNATURE_BYTES } from "./gpg.ts";
import { lookasideUrl } from "./registries_d.ts";

/** Upper bound on signatures read per image (a hostile store cannot make us loop forever). */
export const MAX_SIGNATURES = 64;

/**
 * What signature verification needs from the registry client of the pull pipeline. Every method
 * uses the pull's credentials, TLS settings and digest verification.
 */
export interface SignatureRegistry {
  /** The manifest bytes at `tag` in `ref`'s repository, or `undefined` on 404. */
  fetchManifest(ref: ImageReference, tag: string): Promise<Uint8Array | undefined>;
  /** A blob of `ref`'s repository, digest-verified. */
  fetchBlob(ref: ImageReference, digest: string): Promise<Uint8Array>;
  /**
   * Signatures from the `X-Registry-Supports-Signatures` API (`[]` when the registry does not
   * advertise it). Optional: registries without it are the common case.
   */
  fetchExtensionSignatures?(ref: ImageReference, digest: string): Promise<Uint8Array[]>;
}

async function readCapped(res: Response, url: URL): Promise<Uint8Array> {
  const len = Number(res.headers.get("content-length") ?? "0");
  if (len > MAX_SIGNATURE_BYTES) {
    await res.body?.cancel();
    throw new SignatureError("invalid-signature", `Signature ${url} is larger than 4 MiB`);
  }
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (bytes.length > MAX_SIGNATURE_BYTES) {
    throw new SignatureError("invalid-signature", `Signature ${url} is larger than 4 MiB`);
  }
  return bytes;
}

async function readOne(url: URL, fetcher: typeof fetch): Promise<Uint8Array | undefined> {
  try {
    if (url.protocol === "file:") {
      const path = fileURLToPath(url);
      const st = await Deno.stat(path).catch((e) => {
        if (e instanceof Deno.errors.NotFound) return undefined;
        throw e;
      });
      if (!st) return undefined;
      if (!st.isFile || st.size > MAX_SIGNATURE_BYTES) {
        throw new SignatureError("invalid-signature", `Signature ${url} is not a file under 4 MiB`);
      }
      return await Deno.readFile(path);
    }
    const res = await fetcher(url, { redirect: "follow" });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    return await readCapped(res, url);
  } catch (err) {
    if (err instanceof SignatureError) throw err;
    throw new SignatureError(
      "unavailable",
      `Cannot read signature ${url}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** Reads the lookaside signatures of `ref` at `digest` under `base`. */
export async function lookasideSignatures(
  base: string,
  ref: ImageReference,
  digest: string,
  fetcher: typeof fetch = fetch,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 1; i <= MAX_SIGNATURES; i++) {
    const sig = await readOne(lookasideUrl(base, ref, digest, i), fetcher);
    if (!sig) break;
    out.push(sig);
  }
  return out;
}

/** Parses an `/extensions/v2/<repo>/signatures/<digest>` answer into signature bytes. */
export function parseExtensionSignatures(body: unknown): Uint8Array[] {
  const list = (body as { signatures?: unknown })?.signatures;
  if (!Array.isArray(list)) {
    throw new SignatureError("invalid-signature", "Invalid registry signature list: no signatures");
  }
  return list.slice(0, MAX_SIGNATURES).flatMap((s) => {
    const { type, content } = (s ?? {}) as { type?: unknown; content?: unknown };
    if (type !== "atomic" || typeof content !== "string") return [];
    try {
      return [Uint8Array.fromBase64(content)];
    } catch {
      return [];
    }
  });
}
