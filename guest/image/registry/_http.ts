/**
 * HTTP helpers for the registry client: bounded body reads, redirect following that never sends
 * credentials to another origin, and registry error bodies turned into readable messages.
 *
 * @module
 */
import { isJsonObject } from "@coco/lib/json";
import { ImageError } from "../errors.ts";

/** Most redirects followed for one request. */
export const MAX_REDIRECTS = 5;

/** Reads a whole body, failing with `too_large` as soon as it exceeds `limit` bytes. */
export async function readLimited(res: Response, limit: number, what: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > limit) {
    await res.body?.cancel();
    throw new ImageError(
      "too_large",
      `Refusing ${what}: ${declared} bytes exceeds the ${limit}-byte limit`,
    );
  }
  const chunks: Uint8Array[] = [];
  let n = 0;
  if (res.body) {
    for await (const c of res.body) {
      n += c.byteLength;
      if (n > limit) {
        throw new ImageError("too_large", `Refusing ${what}: more than the ${limit}-byte limit`);
      }
      chunks.push(c);
    }
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/**
 * Fetches `url`, following up to {@link MAX_REDIRECTS} redirects itself so that the
 * `Authorization` header is dropped as soon as the target origin differs from the first one.
 */
export async function fetchFollowing(
  doFetch: typeof fetch,
  url: URL,
  init: RequestInit & { headers: Headers },
): Promise<Response> {
  const origin = url.origin;
  let current = url;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers = new Headers(init.headers);
    if (current.origin !== origin) headers.delete("authorization");
    let res: Response;
    try {
      res = await doFetch(current, { ...init, headers, redirect: "manual" });
    } catch (e) {
      throw new ImageError(
        "registry_unreachable",
        `Cannot reach ${current.origin}: ${e instanceof Error ? e.message : e}`,
        { cause: e },
      );
    }
    const location = res.headers.get("location");
    if (![301, 302, 303, 307, 308].includes(res.status) || location === null) return res;
    await res.body?.cancel();
    const next = new URL(location, current);
    if (next.protocol !== "https:" && next.protocol !== "http:") {
      throw new ImageError(
        "registry_error",
        `Refusing redirect from ${current.origin} to ${next.protocol} URL`,
      );
    }
    if (current.protocol === "https:" && next.protocol === "http:") {
      throw new ImageError(
        "registry_error",
        `Refusing redirect from HTTPS to plain HTTP (${next.origin})`,
      );
    }
    current = next;
  }
  throw new ImageError(
    "too_many_redirects",
    `More than ${MAX_REDIRECTS} redirects fetching ${url.href}`,
  );
}

/** A readable message from a registry error response (`{"errors":[{code,message}]}`). */
export async function registryErrorText(res: Response): Promise<string> {
  let text = "";
  try {
    text = new TextDecoder().decode(await readLimited(res, 16 * 1024, "error body"));
  } catch {
    return `HTTP ${res.status}`;
  }
  try {
    const body: unknown = JSON.parse(text);
    if (isJsonObject(body) && Array.isArray(body.errors) && isJsonObject(body.errors[0])) {
      const e = body.errors[0];
      return `HTTP ${res.status} ${String(e.code ?? "")}: ${String(e.message ?? "").slice(0, 200)}`;
    }
  } catch {
    // not JSON: fall through to the raw text
  }
  return `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
}
