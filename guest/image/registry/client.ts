/**
 * OCI distribution client for one repository on one registry endpoint: manifests with the right
 * `Accept` header and digest checks, and blobs streamed with their digest and size verified as
 * the bytes pass. Authentication and redirects are handled below it.
 *
 * @module
 */
import {
  type Descriptor,
  type Digest,
  digestOf,
  MANIFEST_ACCEPT,
  type ManifestDocument,
  OciError,
  parseDigest,
  parseManifestDocument,
} from "@coco/lib/oci";
import { Digester, hashingStream } from "../_digester.ts";
import { ImageError } from "../errors.ts";
import { Authenticator, TokenCache } from "./auth.ts";
import type { Credentials } from "./auth_file.ts";
import { fetchFollowing, readLimited, registryErrorText } from "./_http.ts";

/** Largest manifest or index accepted (containers/image uses the same 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 << 20;

/** Where to reach a registry. */
export interface Endpoint {
  /** `host[:port]` as contacted (`registry-1.docker.io` for Docker Hub). */
  host: string;
  /** Plain HTTP instead of HTTPS. */
  insecure: boolean;
}

/** Options of a {@link RegistryClient}. */
export interface RegistryClientOptions {
  credentials?: Credentials | undefined;
  fetch?: typeof fetch;
  tokenCache?: TokenCache;
  now?: () => number;
  maxManifestBytes?: number;
  userAgent?: string;
}

/** A manifest or index as fetched, with the digest its bytes were verified against. */
export interface FetchedManifest {
  bytes: Uint8Array;
  digest: Digest;
  document: ManifestDocument;
}

/** The host to contact for a normalised registry name. */
export function endpointHost(registry: string): string {
  return registry === "docker.io" ? "registry-1.docker.io" : registry;
}

/** Client for `/v2/<repository>/…` on one endpoint. */
export class RegistryClient {
  readonly endpoint: Endpoint;
  readonly repository: string;
  readonly #fetch: typeof fetch;
  readonly #auth: Authenticator;
  readonly #maxManifest: number;
  readonly #ua: string;

  constructor(endpoint: Endpoint, repository: string, options: RegistryClientOptions = {}) {
    this.endpoint = endpoint;
    this.repository = repository;
    this.#fetch = options.fetch ?? fetch;
    this.#maxManifest = options.maxManifestBytes ?? MAX_MANIFEST_BYTES;
    this.#ua = options.userAgent ?? "coco-guest";
    this.#auth = new Authenticator({
      host: endpoint.host,
      repository,
      credentials: options.credentials,
      fetch: this.#fetch,
      cache: options.tokenCache ?? new TokenCache(),
      now: options.now ?? Date.now,
      userAgent: this.#ua,
    });
  }

  get #where(): string {
    return `${this.endpoint.host}/${this.repository}`;
  }

  async #get(path: string, accept: string): Promise<Response> {
    const scheme = this.endpoint.insecure ? "http" : "https";
    const url = new URL(`${scheme}://${this.endpoint.host}/v2/${this.repository}/${path}`);
    const headers = new Headers({ accept, "user-agent": this.#ua });
    const pre = this.#auth.header();
    if (pre) headers.set("authorization", pre);
    let res = await fetchFollowing(this.#fetch, url, { method: "GET", headers });
    if (res.status === 401) {
      const challenge = res.headers.get("www-authenticate");
      await res.body?.cancel();
      headers.set("authorization", await this.#auth.respond(challenge));
      res = await fetchFollowing(this.#fetch, url, { method: "GET", headers });
      if (res.status === 401 || res.status === 403) {
        const text = await registryErrorText(res);
        throw new ImageError(
          "auth_failed",
          `Registry ${this.#where} refused the credentials: ${text}`,
        );
      }
    }
    if (res.ok) return res;
    const text = await registryErrorText(res);
    const code = res.status === 404
      ? "not_found"
      : res.status === 403
      ? "auth_failed"
      : "registry_error";
    throw new ImageError(
      code,
      `GET ${this.#where}/${path} failed: ${text}`,
    );
  }

  /**
   * Fetches a manifest or index by tag or digest. The bytes must hash to `reference` when it is a
   * digest, and to `Docker-Content-Digest` when the registry sends one.
   */
  async manifest(reference: string): Promise<FetchedManifest> {
    const pinned = reference.includes(":") ? parseDigest(reference, "manifest digest") : undefined;
    const res = await this.#get(`manifests/${reference}`, MANIFEST_ACCEPT);
    const bytes = await readLimited(res, this.#maxManifest, `manifest ${this.#where}:${reference}`);
    const header = res.headers.get("docker-content-digest");
    const digest = this.#verifyManifest(bytes, reference, pinned, header);
    let document: ManifestDocument;
    try {
      document = parseManifestDocument(bytes, res.headers.get("content-type") ?? undefined);
    } catch (e) {
      if (e instanceof OciError) {
        throw new ImageError("invalid_image", `Manifest ${this.#where}@${digest}: ${e.message}`, {
          cause: e,
        });
      }
      throw e;
    }
    return { bytes, digest, document };
  }

  #verifyManifest(
    bytes: Uint8Array,
    ref: string,
    pinned: Digest | undefined,
    header: string | null,
  ): Digest {
    const check = (want: Digest, source: string) => {
      const alg = want.slice(0, want.indexOf(":"));
      const got = digestOf(bytes, alg === "sha512" ? "sha512" : "sha256");
      if (got !== want) {
        throw new ImageError(
          "digest_mismatch",
          `Manifest ${this.#where}:${ref} does not match ${source}: expected ${want}, got ${got}`,
        );
      }
    };
    if (pinned) check(pinned, "the requested digest");
    if (header !== null) {
      let h: Digest;
      try {
        h = parseDigest(header.trim(), "Docker-Content-Digest");
      } catch (e) {
        throw new ImageError(
          "digest_mismatch",
          `Registry ${this.#where} sent a malformed Docker-Content-Digest`,
          { cause: e },
        );
      }
      check(h, "Docker-Content-Digest");
    }
    return pinned ?? digestOf(bytes, "sha256");
  }

  /** Fetches a small blob (an image config) whole, verified, refusing more than `limit` bytes. */
  async blobBytes(desc: Descriptor, limit = 4 << 20): Promise<Uint8Array> {
    if (desc.size > limit) {
      throw new ImageError(
        "too_large",
        `Refusing blob ${desc.digest}: ${desc.size} bytes exceeds the ${limit}-byte limit`,
      );
    }
    const res = await this.#get(`blobs/${desc.digest}`, "*/*");
    const bytes = await readLimited(res, desc.size, `blob ${desc.digest}`);
    const d = Digester.for(desc.digest, `blob ${desc.digest}`);
    d.update(bytes);
    this.#checkBlob(desc, d);
    return bytes;
  }

  /** Fetches a blob of unknown size by digest, verified, refusing more than `limit` bytes. */
  async blobByDigest(digest: Digest, limit = 4 << 20): Promise<Uint8Array> {
    const res = await this.#get(`blobs/${digest}`, "*/*");
    const bytes = await readLimited(res, limit, `blob ${digest}`);
    const d = Digester.for(digest, `blob ${digest}`);
    d.update(bytes);
    this.#checkBlob({ mediaType: "application/octet-stream", digest, size: bytes.length }, d);
    return bytes;
  }

  /**
   * Streams a blob. The stream errors (before it ends) when the bytes do not hash to the
   * descriptor's digest or their count differs from its size; `onBytes` sees the running count.
   */
  async blob(desc: Descriptor, onBytes?: (n: number) => void): Promise<ReadableStream<Uint8Array>> {
    const digester = Digester.for(desc.digest, `blob ${desc.digest}`);
    const res = await this.#get(`blobs/${desc.digest}`, "*/*");
    const declared = Number(res.headers.get("content-length") ?? NaN);
    if (!Number.isNaN(declared) && declared !== desc.size) {
      await res.body?.cancel();
      throw new ImageError(
        "size_mismatch",
        `Blob ${desc.digest} from ${this.#where}: registry announces ${declared} bytes, manifest says ${desc.size}`,
      );
    }
    if (!res.body) {
      throw new ImageError("registry_error", `Blob ${desc.digest} from ${this.#where} has no body`);
    }
    return res.body.pipeThrough(hashingStream(digester, (d) => this.#checkBlob(desc, d), (d) => {
      if (d.bytes > desc.size) {
        throw new ImageError(
          "size_mismatch",
          `Blob ${desc.digest} from ${this.#where} is longer than its ${desc.size} bytes`,
        );
      }
      onBytes?.(d.bytes);
    }));
  }

  #checkBlob(desc: Descriptor, d: Digester): void {
    if (d.bytes !== desc.size) {
      throw new ImageError(
        "size_mismatch",
        `Blob ${desc.digest} from ${this.#where} has ${d.bytes} bytes, expected ${desc.size}`,
      );
    }
    const got = d.digest();
    if (got !== desc.digest) {
      throw new ImageError(
        "digest_mismatch",
        `Blob from ${this.#where} does not match its digest: expected ${desc.digest}, got ${got}`,
      );
    }
  }
}
