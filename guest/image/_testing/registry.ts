/**
 * Test support: a small in-process OCI registry on `Deno.serve({ port: 0 })` with anonymous,
 * Basic or bearer-token auth, blob redirects to a second origin, and hooks to tamper with
 * served bytes. It records every request so tests can check headers.
 *
 * @module
 */
import { type Digest, digestOf } from "@coco/lib/oci";

/** Auth the fake registry demands. */
export type FakeAuth =
  | { kind: "none" }
  | { kind: "basic"; user: string; pass: string }
  | { kind: "bearer"; user?: string; pass?: string };

/** A request seen by the fake registry or its blob storage. */
export interface SeenRequest {
  path: string;
  authorization: string | null;
  accept: string | null;
}

/** Options of {@link FakeRegistry.start}. */
export interface FakeRegistryOptions {
  auth?: FakeAuth;
  /** Blob GETs answer 307 to a second server (another origin). */
  redirectBlobs?: boolean;
  /** Omit Docker-Content-Digest on manifests. */
  noDigestHeader?: boolean;
}

const TOKEN = "fake-token-123";

/** The fake registry. */
export class FakeRegistry {
  readonly blobs = new Map<string, Uint8Array>();
  readonly manifests = new Map<
    string,
    { bytes: Uint8Array; mediaType: string; digestHeader?: string }
  >();
  readonly tamperedBlobs = new Map<string, Uint8Array>();
  readonly requests: SeenRequest[] = [];
  readonly storageRequests: SeenRequest[] = [];
  readonly tokenRequests: SeenRequest[] = [];
  #servers: Deno.HttpServer<Deno.NetAddr>[] = [];
  #storageOrigin = "";
  host = "";

  private constructor(readonly options: FakeRegistryOptions) {}

  /** Starts the registry (and its blob storage when redirecting). */
  static async start(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
    const r = new FakeRegistry(options);
    const main = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) => r.#handle(req),
    );
    r.#servers.push(main);
    r.host = `127.0.0.1:${main.addr.port}`;
    if (options.redirectBlobs) {
      const storage = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        (req) => r.#storage(req),
      );
      r.#servers.push(storage);
      r.#storageOrigin = `http://127.0.0.1:${storage.addr.port}`;
    }
    await Promise.resolve();
    return r;
  }

  /** Stores a blob; returns its digest. */
  putBlob(bytes: Uint8Array): Digest {
    const d = digestOf(bytes);
    this.blobs.set(d, bytes);
    return d;
  }

  /** Stores a manifest under its digest and `tag`; returns the digest. */
  putManifest(repo: string, tag: string, bytes: Uint8Array, mediaType: string): Digest {
    const d = digestOf(bytes);
    this.manifests.set(`${repo}@${d}`, { bytes, mediaType });
    this.manifests.set(`${repo}:${tag}`, { bytes, mediaType });
    return d;
  }

  async close(): Promise<void> {
    for (const s of this.#servers) await s.shutdown();
  }

  #authorized(req: Request): boolean {
    const auth = this.options.auth ?? { kind: "none" };
    const h = req.headers.get("authorization");
    if (auth.kind === "none") return true;
    if (auth.kind === "basic") return h === `Basic ${btoa(`${auth.user}:${auth.pass}`)}`;
    return h === `Bearer ${TOKEN}`;
  }

  #challenge(): Response {
    const auth = this.options.auth!;
    const value = auth.kind === "basic"
      ? 'Basic realm="fake"'
      : `Bearer realm="http://${this.host}/token",service="fake-registry"`;
    return Response.json(
      { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] },
      {
        status: 401,
        headers: { "www-authenticate": value },
      },
    );
  }

  #seen(req: Request, into: SeenRequest[]) {
    const u = new URL(req.url);
    into.push({
      path: u.pathname + u.search,
      authorization: req.headers.get("authorization"),
      accept: req.headers.get("accept"),
    });
  }

  #handle(req: Request): Response {
    const url = new URL(req.url);
    if (url.pathname === "/token") return this.#token(req);
    this.#seen(req, this.requests);
    if (!this.#authorized(req)) return this.#challenge();
    if (url.pathname === "/v2/") return Response.json({});
    const m = url.pathname.match(/^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/);
    if (!m) return new Response("not found", { status: 404 });
    const [, repo, kind, ref] = m as unknown as [string, string, string, string];
    if (kind === "manifests") {
      const found = this.manifests.get(ref.includes(":") ? `${repo}@${ref}` : `${repo}:${ref}`);
      if (!found) {
        return Response.json({
          errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }],
        }, { status: 404 });
      }
      const headers: Record<string, string> = { "content-type": found.mediaType };
      if (!this.options.noDigestHeader) {
        headers["docker-content-digest"] = found.digestHeader ?? digestOf(found.bytes);
      }
      return new Response(found.bytes.slice(), { headers });
    }
    if (this.options.redirectBlobs) {
      return new Response(null, {
        status: 307,
        headers: { location: `${this.#storageOrigin}/storage/${ref}` },
      });
    }
    return this.#blob(ref);
  }

  #blob(digest: string): Response {
    const bytes = this.tamperedBlobs.get(digest) ?? this.blobs.get(digest);
    if (!bytes) {
      return Response.json({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown" }] }, {
        status: 404,
      });
    }
    // Stream large blobs in pieces so tests exercise chunking.
    let off = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        if (off >= bytes.length) return c.close();
        c.enqueue(bytes.slice(off, off + 64 * 1024));
        off += 64 * 1024;
      },
    });
    return new Response(body, { headers: { "content-length": String(bytes.length) } });
  }

  #storage(req: Request): Response {
    this.#seen(req, this.storageRequests);
    return this.#blob(new URL(req.url).pathname.replace("/storage/", ""));
  }

  #token(req: Request): Response {
    this.#seen(req, this.tokenRequests);
    const auth = this.options.auth;
    if (auth?.kind === "bearer" && auth.user !== undefined) {
      if (req.headers.get("authorization") !== `Basic ${btoa(`${auth.user}:${auth.pass}`)}`) {
        return Response.json({ errors: [{ code: "DENIED", message: "bad credentials" }] }, {
          status: 401,
        });
      }
    }
    return Response.json({ token: TOKEN, expires_in: 300 });
  }
}
