/**
 * A fake KBS for guest tests on `Deno.serve({ port: 0 })`: RCAR `/auth` + `/attest` for the sample
 * TEE (checks that `report_data` binds the nonce and TEE key, as the real KBS does), tokens with an
 * `exp`, and JWE-encrypted resources for Bearer requests. Not exported from any mod.ts.
 */
import { encryptResource } from "@coco/lib/jose";
import {
  hashCanonical,
  parseAttestation,
  primaryRuntimeData,
  selectedHashAlgorithm,
  type TeePubKey,
} from "@coco/lib/kbs";

/** A running fake KBS; dispose to stop it. */
export interface FakeKbs extends AsyncDisposable {
  url: string;
  /** Resources by `<repo>/<type>/<tag>`. */
  resources: Map<string, Uint8Array>;
  /** Successful `/attest` calls. */
  attestations: number;
  /** Resource GETs received (any status). */
  resourceRequests: number;
  /** Forgets every issued token (next resource GET answers 401). */
  revokeTokens(): void;
  /** Token lifetime in seconds (default 300). */
  ttlSeconds: number;
  /** When true, every resource GET answers 401. */
  denyAll: boolean;
}

const b64u = (s: string) =>
  new TextEncoder().encode(s).toBase64({ alphabet: "base64url", omitPadding: true });
const errorInfo = (status: number, detail: string) =>
  Response.json({ type: "https://github.com/confidential-containers/kbs/errors/Fake", detail }, {
    status,
  });

/** Starts a fake KBS. */
export function startFakeKbs(
  resources: Record<string, Uint8Array | string> = {},
): Promise<FakeKbs> {
  const sessions = new Map<string, string>(); // session id → nonce
  const tokens = new Map<string, TeePubKey>();
  const state = {
    url: "",
    resources: new Map(
      Object.entries(resources).map((
        [k, v],
      ) => [k, typeof v === "string" ? new TextEncoder().encode(v) : v]),
    ),
    attestations: 0,
    resourceRequests: 0,
    ttlSeconds: 300,
    denyAll: false,
    revokeTokens: () => tokens.clear(),
  };
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    if (url.pathname === "/kbs/v0/auth" && req.method === "POST") {
      await req.json();
      const id = crypto.randomUUID();
      const nonce = crypto.getRandomValues(new Uint8Array(32)).toBase64();
      sessions.set(id, nonce);
      return Response.json({ nonce, "extra-params": {} }, {
        headers: { "set-cookie": `kbs-session-id=${id}` },
      });
    }
    if (url.pathname === "/kbs/v0/attest" && req.method === "POST") {
      const id = /kbs-session-id=([^;]+)/.exec(req.headers.get("cookie") ?? "")?.[1] ?? "";
      const nonce = sessions.get(id);
      if (!nonce) return errorInfo(401, "no session");
      const att = parseAttestation(await req.json());
      const rd = hashCanonical(
        selectedHashAlgorithm({}),
        primaryRuntimeData(
          nonce,
          att["runtime-data"]["tee-pubkey"],
          att["tee-evidence"].additional_evidence,
        ),
      );
      const ev = att["tee-evidence"].primary_evidence as { report_data?: string };
      if (ev.report_data !== rd.toBase64()) {
        return errorInfo(401, "report_data does not bind the nonce");
      }
      const exp = Math.floor(Date.now() / 1000) + state.ttlSeconds;
      const token = `${b64u('{"alg":"none"}')}.${
        b64u(JSON.stringify({ exp, jti: crypto.randomUUID() }))
      }.sig`;
      tokens.set(token, att["runtime-data"]["tee-pubkey"]);
      state.attestations++;
      return Response.json({ token });
    }
    const m = /^\/kbs\/v0\/resource\/(.+)$/.exec(url.pathname);
    if (m && req.method === "GET") {
      state.resourceRequests++;
      const key = tokens.get((req.headers.get("authorization") ?? "").replace(/^Bearer /, ""));
      if (!key || state.denyAll) return errorInfo(401, "token missing or unknown");
      const value = state.resources.get(m[1]!);
      if (!value) return errorInfo(404, `resource ${m[1]} not found`);
      return Response.json(await encryptResource(key, value));
    }
    return errorInfo(404, `no route ${url.pathname}`);
  };
  const { promise, resolve } = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => resolve() }, handler);
  return promise.then(() => {
    state.url = `http://127.0.0.1:${server.addr.port}`;
    return Object.assign(state, {
      async [Symbol.asyncDispose]() {
        await server.shutdown();
      },
    });
  });
}
