/** Test helpers: an in-process KBS over Memory storage and a manual RCAR driver. */
import { nullLogger } from "@coco/lib/log";
import { generateTeeKeyPair, type TeeKeyPair } from "@coco/lib/jose";
import { hashCanonical, primaryRuntimeData } from "@coco/lib/kbs";
import { sampleEvidence } from "@coco/lib/tee";
import { generateAdminKeyPair, mintAdminToken } from "../admin/mod.ts";
import { parseKbsConfig } from "./config.ts";
import { createKbs, type Kbs } from "./server.ts";

export interface TestKbs {
  kbs: Kbs;
  adminToken: string;
  call(
    method: string,
    path: string,
    init?: { body?: string | Uint8Array; headers?: Record<string, string>; client?: string },
  ): Promise<Response>;
  dir: string;
  close(): Promise<void>;
}

/** A KBS with bearer-JWT admin auth, Memory storage, and a pinned clock. */
export async function testKbs(
  options: { now?: () => number; payloadMiB?: number; extra?: Record<string, unknown> } = {},
): Promise<TestKbs> {
  const dir = await Deno.makeTempDir({ prefix: "kbs-test-" });
  const pair = await generateAdminKeyPair();
  await Deno.writeTextFile(`${dir}/admin.pub`, pair.publicKeyPem);
  const config = parseKbsConfig({
    http_server: { insecure_http: true, payload_request_size: options.payloadMiB ?? 2 },
    admin: {
      authorization_mode: "AuthenticatedAuthorization",
      authentication: {
        bearer_jwt: {
          identity_providers: [{ issuer: "test", public_key_uri: `${dir}/admin.pub` }],
        },
      },
      authorization: { regex_acl: { acls: [{ role: "admin", allowed_endpoints: "^/kbs/.+$" }] } },
    },
    ...options.extra,
  }, "test.toml");
  const kbs = await createKbs(config, nullLogger, options.now);
  const adminToken = await mintAdminToken(pair.privateKeyPem, {
    role: "admin",
    issuer: "test",
    ttlSeconds: 3600,
  });
  return {
    kbs,
    adminToken,
    dir,
    async call(method, path, init = {}) {
      const body = init.body === undefined
        ? null
        : typeof init.body === "string"
        ? init.body
        : init.body as Uint8Array<ArrayBuffer>;
      const info = init.client === undefined ? undefined : {
        remoteAddr: { transport: "tcp" as const, hostname: init.client, port: 40000 },
        completed: Promise.resolve(),
      };
      return await kbs.fetch(
        new Request(`http://kbs.test${path}`, { method, headers: init.headers ?? {}, body }),
        info,
      );
    },
    async close() {
      await kbs.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

export interface Handshake {
  cookie: string;
  nonce: string;
  key: TeeKeyPair;
  attestBody(overrides?: { nonce?: string; reportData?: Uint8Array }): string;
}

/** Runs `/auth` for the sample TEE and prepares a valid `/attest` body. */
export async function auth(t: TestKbs, tee = "sample"): Promise<Handshake> {
  const res = await t.call("POST", "/kbs/v0/auth", {
    body: JSON.stringify({ version: "0.4.0", tee, "extra-params": "" }),
  });
  if (res.status !== 200) throw new Error(`auth failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  const { nonce } = await res.json();
  const key = await generateTeeKeyPair();
  return {
    cookie,
    nonce,
    key,
    attestBody(o = {}) {
      const n = o.nonce ?? nonce;
      const rd = o.reportData ?? hashCanonical("sha384", primaryRuntimeData(n, key.publicJwk, ""));
      return JSON.stringify({
        "runtime-data": { nonce: n, "tee-pubkey": key.publicJwk },
        "tee-evidence": { primary_evidence: sampleEvidence(rd), additional_evidence: "" },
      });
    },
  };
}

/** A full handshake; returns the token and the cookie. */
export async function attest(t: TestKbs): Promise<Handshake & { token: string }> {
  const h = await auth(t);
  const res = await t.call("POST", "/kbs/v0/attest", {
    body: h.attestBody(),
    headers: { Cookie: h.cookie },
  });
  if (res.status !== 200) throw new Error(`attest failed: ${res.status} ${await res.text()}`);
  return { ...h, token: (await res.json()).token };
}
