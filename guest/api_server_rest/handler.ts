/**
 * The api-server-rest request handler (spec/guest.md §4): a route table of URLPatterns, one
 * function per route, and error → status mapping in one place ({@linkcode createAsrHandler}).
 */
import { errorMessage } from "@coco/lib/errors";
import { parseResourceUri } from "@coco/lib/kbs";
import type { Logger } from "@coco/lib/log";
import type { AaApi, CdhApi } from "./backends.ts";
import { type Features, isLoopback } from "./features.ts";

/** Version reported by `/info`. */
export const ASR_VERSION = "0.1.0";
/** Largest `/aa/aael` body accepted. */
export const MAX_BODY_BYTES = 64 * 1024;

/** What the handler serves; `aa`/`cdh` are present only when the features enable them. */
export interface AsrOptions {
  features: Features;
  aa?: AaApi;
  cdh?: CdhApi;
  logger: Logger;
}

/** A response chosen by a route; anything else thrown becomes 500 with its message. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

type Ctx = {
  req: Request;
  url: URL;
  groups: Record<string, string | undefined>;
  aa: AaApi;
  cdh: CdhApi;
};
interface Route {
  pattern: URLPattern;
  needs: "aa" | "cdh" | "none";
  /** Methods served; others get `wrongMethod`. */
  methods: readonly string[];
  wrongMethod: 404 | 405;
  run(ctx: Ctx, opts: AsrOptions): Promise<Response>;
}

const octets = (body: Uint8Array) =>
  new Response(body as Uint8Array<ArrayBuffer>, {
    headers: { "content-type": "application/octet-stream" },
  });
const text = (status: number, body: string) =>
  new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

function runtimeData(url: URL): Uint8Array {
  const data = url.searchParams.get("runtime_data");
  if (data === null) throw new HttpError(400, "BAD REQUEST: missing runtime_data");
  const encoding = url.searchParams.get("encoding");
  if (encoding === null) return new TextEncoder().encode(data);
  if (encoding !== "base64") {
    throw new HttpError(400, `BAD REQUEST: unsupported encoding ${encoding}`);
  }
  if (!/^[A-Za-z0-9_-]*$/.test(data)) {
    throw new HttpError(400, "BAD REQUEST: runtime_data is not unpadded base64url");
  }
  try {
    return Uint8Array.fromBase64(data, { alphabet: "base64url" });
  } catch {
    throw new HttpError(400, "BAD REQUEST: runtime_data is not valid base64url");
  }
}

async function readBody(req: Request): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, "Payload Too Large");
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of req.body ?? []) {
    n += chunk.byteLength;
    if (n > MAX_BODY_BYTES) throw new HttpError(413, "Payload Too Large");
    chunks.push(chunk);
  }
  return new TextDecoder().decode(
    new Uint8Array(await new Blob(chunks as Uint8Array<ArrayBuffer>[]).arrayBuffer()),
  );
}

function parseAael(body: string): { domain: string; operation: string; content: string } {
  const o = JSON.parse(body) as unknown;
  if (typeof o !== "object" || o === null) throw new TypeError("aael body must be a JSON object");
  const r = o as Record<string, unknown>;
  for (const k of ["domain", "operation", "content"]) {
    if (typeof r[k] !== "string") throw new TypeError(`aael body: ${k} must be a string`);
  }
  return {
    domain: r.domain as string,
    operation: r.operation as string,
    content: r.content as string,
  };
}

const AAEL_MESSAGES = {
  NOT_SUPPORTED: "The platform does not support runtime measurement",
  NOT_ENABLED: "Attestation Agent does not enable eventlog recording",
} as const;

const ROUTES: Route[] = [
  {
    pattern: new URLPattern({ pathname: "/info" }),
    needs: "none",
    methods: ["GET"],
    wrongMethod: 405,
    async run(_ctx, opts) {
      const info: Record<string, unknown> = { version: ASR_VERSION };
      if (opts.aa) {
        info.tee = await opts.aa.getTeeType();
        info.additional_tees = await opts.aa.getAdditionalTees();
      }
      info.feature = opts.features;
      return Response.json(info);
    },
  },
  {
    pattern: new URLPattern({ pathname: "/aa/token" }),
    needs: "aa",
    methods: ["GET"],
    wrongMethod: 404,
    async run({ url, aa }) {
      const type = url.searchParams.get("token_type");
      if (!type) throw new HttpError(400, "BAD REQUEST: missing token_type");
      return octets(await aa.getToken(type));
    },
  },
  {
    pattern: new URLPattern({ pathname: "/aa/evidence" }),
    needs: "aa",
    methods: ["GET"],
    wrongMethod: 404,
    async run({ url, aa }) {
      return octets(await aa.getEvidence(runtimeData(url)));
    },
  },
  {
    pattern: new URLPattern({ pathname: "/aa/additional-evidence" }),
    needs: "aa",
    methods: ["GET"],
    wrongMethod: 404,
    async run({ url, aa }) {
      return octets(await aa.getAdditionalEvidence(runtimeData(url)));
    },
  },
  {
    pattern: new URLPattern({ pathname: "/aa/aael" }),
    needs: "aa",
    methods: ["POST"],
    wrongMethod: 404,
    async run({ req, aa }) {
      const ev = parseAael(await readBody(req)); // bad JSON → 500, as upstream
      const result = await aa.extendRuntimeMeasurement(ev.domain, ev.operation, ev.content);
      return Response.json(
        result === "OK"
          ? { success: "true" }
          : { success: "false", message: AAEL_MESSAGES[result] },
      );
    },
  },
  {
    pattern: new URLPattern({ pathname: "/cdh/resource/:repo/:type/:tag" }),
    needs: "cdh",
    methods: ["GET"],
    wrongMethod: 405,
    async run({ groups, cdh }) {
      const uri = `kbs:///${groups.repo}/${groups.type}/${groups.tag}`;
      try {
        parseResourceUri(uri);
      } catch (err) {
        throw new HttpError(400, `BAD REQUEST: ${errorMessage(err)}`);
      }
      return octets(await cdh.getResource(uri));
    },
  },
];

const NOT_ENABLED = { aa: "Attestation Feature Not Enabled", cdh: "Resource Feature Not Enabled" };

/** Builds the `Deno.serve` handler. */
export function createAsrHandler(
  opts: AsrOptions,
): (req: Request, info: { remoteAddr: Deno.Addr }) => Promise<Response> {
  return async (req, info) => {
    if (!isLoopback(info.remoteAddr)) return text(403, "Forbidden");
    const url = new URL(req.url);
    for (const route of ROUTES) {
      const match = route.pattern.exec({ pathname: url.pathname });
      if (!match) continue;
      const { aa, cdh } = opts;
      if (route.needs === "aa" && !aa) return text(404, NOT_ENABLED.aa);
      if (route.needs === "cdh" && !cdh) return text(404, NOT_ENABLED.cdh);
      if (!route.methods.includes(req.method)) {
        return route.wrongMethod === 405
          ? text(405, "Method Not Allowed")
          : text(404, "URL NOT FOUND");
      }
      try {
        return await route.run(
          { req, url, groups: match.pathname.groups, aa: aa!, cdh: cdh! },
          opts,
        );
      } catch (err) {
        if (err instanceof HttpError) return text(err.status, err.message);
        opts.logger.error("request failed", { path: url.pathname, error: err });
        return text(500, errorMessage(err));
      }
    }
    return text(404, "URL NOT FOUND");
  };
}
