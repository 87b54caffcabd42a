/**
 * Helpers for multi-replica tests and benchmarks: a shared `kbs-config.toml` (one storage, one
 * token signing key, one admin key), `trustee serve` replicas as child processes reading their
 * bound address from stdout, and a hand-driven RCAR flow whose three calls can each go to a
 * different replica (as a round-robin load balancer would send them).
 *
 * @module
 */
import { stringify } from "smol-toml";
import {
  decryptResource,
  generateTeeKeyPair,
  parseFlattenedJwe,
  type TeeKeyPair,
} from "@coco/lib/jose";
import { hashCanonical, primaryRuntimeData } from "@coco/lib/kbs";
import { sampleEvidence } from "@coco/lib/tee";
import { generateAdminKeyPair, mintAdminToken } from "../admin/mod.ts";
import { makeSelfSigned } from "./tls.ts";

/** Where a cluster keeps its state. */
export type ClusterStorage =
  | { type: "LocalFs"; dir: string }
  | { type: "Postgres"; socketDir: string; port: number; sessions?: { redisUrl: string } }
  | { type: "Redis"; url: string };

/** Shared material of a cluster: config file path and an admin token. */
export interface ClusterConfig {
  configPath: string;
  adminToken: string;
}

/** Writes a token signing key, an admin key pair and a config all replicas share. */
export async function writeClusterConfig(
  dir: string,
  storage: ClusterStorage,
  extra: Record<string, unknown> = {},
): Promise<ClusterConfig> {
  const pair = await generateAdminKeyPair();
  await Deno.writeTextFile(`${dir}/admin.pub`, pair.publicKeyPem);
  // The EAR signing key: any P-256 PKCS#8 key; shared so every replica's tokens verify on all.
  await Deno.writeTextFile(`${dir}/token.key`, (await makeSelfSigned([])).key, { mode: 0o600 });
  const config: Record<string, unknown> = {
    http_server: { sockets: ["127.0.0.1:0"], insecure_http: true },
    admin: {
      authorization_mode: "AuthenticatedAuthorization",
      authentication: {
        bearer_jwt: {
          identity_providers: [{ issuer: "cluster", public_key_uri: `${dir}/admin.pub` }],
        },
      },
      authorization: { regex_acl: { acls: [{ role: "admin", allowed_endpoints: "^/kbs/.+$" }] } },
    },
    attestation_service: {
      attestation_token_broker: { signer: { key_path: `${dir}/token.key` } },
    },
    storage_backend: storage.type === "LocalFs"
      ? { storage_type: "LocalFs", backends: { local_fs: { dir_path: storage.dir } } }
      : storage.type === "Redis"
      ? { storage_type: "Redis", backends: { redis: { url: storage.url } } }
      : {
        storage_type: "Postgres",
        backends: {
          postgres: { host: storage.socketDir, port: storage.port, pool_size: 10 },
          ...(storage.sessions ? { redis: { url: storage.sessions.redisUrl } } : {}),
        },
      },
    ...(storage.type === "Postgres" && storage.sessions ? { session_storage_type: "Redis" } : {}),
    ...extra,
  };
  const configPath = `${dir}/kbs-config.toml`;
  await Deno.writeTextFile(configPath, stringify(config));
  const adminToken = await mintAdminToken(pair.privateKeyPem, {
    role: "admin",
    issuer: "cluster",
    ttlSeconds: 3600,
  });
  return { configPath, adminToken };
}

/** Arguments that run `trustee serve` from source with `configPath`. */
export function serveArgs(configPath: string): string[] {
  return ["run", "-A", new URL("../main.ts", import.meta.url).pathname, "serve", "-c", configPath];
}

/** Sends one admin request and throws with the body unless it is 200. */
export async function adminCall(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: string | Uint8Array,
): Promise<string> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: body as BodyInit }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${method} ${path} on ${url}: ${res.status} ${text}`);
  return text;
}

/** One RCAR flow's result. */
export interface FlowResult {
  token: string;
  secret: Uint8Array;
}

/** Base URLs for each step of a flow: auth, attest and resource may be different replicas. */
export interface FlowTargets {
  auth: string;
  attest: string;
  resource: string;
}

/**
 * A full flow with the sample TEE: `/auth` on one replica, `/attest` (session cookie) on
 * another, then the resource with the cookie on a third; decrypts the JWE with the TEE key.
 * Throws with the HTTP status and body of the first failing step.
 */
export async function runFlow(
  targets: FlowTargets,
  resourcePath: string,
  key?: TeeKeyPair,
): Promise<FlowResult> {
  const tee = key ?? await generateTeeKeyPair();
  const step = async (name: string, res: Response) => {
    if (res.status !== 200) throw new Error(`${name} failed: ${res.status} ${await res.text()}`);
    return res;
  };
  const authRes = await step(
    `auth on ${targets.auth}`,
    await fetch(`${targets.auth}/kbs/v0/auth`, {
      method: "POST",
      body: JSON.stringify({ version: "0.4.0", tee: "sample", "extra-params": "" }),
    }),
  );
  const cookie = authRes.headers.get("set-cookie")!.split(";")[0]!;
  const { nonce } = await authRes.json() as { nonce: string };
  const rd = hashCanonical("sha384", primaryRuntimeData(nonce, tee.publicJwk, ""));
  const attestRes = await step(
    `attest on ${targets.attest}`,
    await fetch(`${targets.attest}/kbs/v0/attest`, {
      method: "POST",
      headers: { Cookie: cookie },
      body: JSON.stringify({
        "runtime-data": { nonce, "tee-pubkey": tee.publicJwk },
        "tee-evidence": { primary_evidence: sampleEvidence(rd), additional_evidence: "" },
      }),
    }),
  );
  const { token } = await attestRes.json() as { token: string };
  const resRes = await step(
    `resource on ${targets.resource}`,
    await fetch(`${targets.resource}/kbs/v0/resource/${resourcePath}`, {
      headers: { Cookie: cookie },
    }),
  );
  const jwe = parseFlattenedJwe(await resRes.json());
  return { token, secret: await decryptResource(jwe, tee.privateKey, tee.privateJwk) };
}
