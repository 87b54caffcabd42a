/**
 * Policy and reference-value caches across replicas, with real processes: two `trustee serve`
 * replicas on loopback sharing a real PostgreSQL (and, in a second test, Redis as the only
 * storage). Each replica first reads (and caches) a policy or reference value, then an admin
 * write goes through replica A, and the very next request on replica B must obey the write.
 */
import assert from "node:assert/strict";
import { skipUnless } from "../../tests/peers.ts";
import { startDeno, type Started } from "../../tests/harness.ts";
import {
  adminCall,
  type ClusterStorage,
  runFlow,
  serveArgs,
  writeClusterConfig,
} from "./cluster_testing.ts";
import { postgresPeers, redisPeers, startPostgres, startRedis } from "../storage/test_servers.ts";

const ALLOW =
  'package policy\nimport rego.v1\ndefault allow := false\nallow if data.plugin == "resource"\n';
const DENY = "package policy\nimport rego.v1\ndefault allow := false\n";
const BROKEN_APPRAISAL = 'package policy\nimport rego.v1\ntrust_claims := {"bogus": 1}\n';
const b64u = (s: string) =>
  new TextEncoder().encode(s).toBase64({ alphabet: "base64url", omitPadding: true });

async function withReplicas(
  storage: ClusterStorage,
  body: (a: string, b: string, token: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "trustee-cache-" });
  const replicas: Started[] = [];
  try {
    const { configPath, adminToken } = await writeClusterConfig(dir, storage);
    for (const name of ["replica-a", "replica-b"]) {
      replicas.push(
        await startDeno({
          name,
          args: serveArgs(configPath),
          ready: /trustee listening on (http:\/\/\S+)/,
          env: { COCO_LOG: "warn" },
        }),
      );
    }
    const [a, b] = replicas.map((r) => r.match[1]!) as [string, string];
    await body(a, b, adminToken);
  } catch (err) {
    for (const r of replicas) console.error(r.log());
    throw err;
  } finally {
    for (const r of replicas) await r.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Every cached read on B is warmed first, then a write on A must apply to B's next request. */
async function writesOnAApplyOnB(a: string, b: string, token: string): Promise<void> {
  const onB = { auth: b, attest: b, resource: b };
  await adminCall(a, token, "POST", "/kbs/v0/resource/cache/key/1", "secret");
  await adminCall(
    a,
    token,
    "POST",
    "/kbs/v0/resource-policy",
    JSON.stringify({ policy: b64u(ALLOW) }),
  );
  // B has read and cached the allowing policy, through a cookie and through a bearer token.
  const { token: ear } = await runFlow(onB, "cache/key/1");
  const bearer = () =>
    fetch(`${b}/kbs/v0/resource/cache/key/1`, { headers: { Authorization: `Bearer ${ear}` } });
  const first = await bearer();
  assert.equal(first.status, 200, await first.text());

  // Resource policy.
  await adminCall(
    a,
    token,
    "POST",
    "/kbs/v0/resource-policy",
    JSON.stringify({ policy: b64u(DENY) }),
  );
  await assert.rejects(runFlow(onB, "cache/key/1"), /resource on .* failed: 401 .*PolicyDeny/);
  const denied = await bearer();
  assert.equal(denied.status, 401);
  assert.match(await denied.text(), /PolicyDeny/);
  await adminCall(
    a,
    token,
    "POST",
    "/kbs/v0/resource-policy",
    JSON.stringify({ policy: b64u(ALLOW) }),
  );
  await runFlow(onB, "cache/key/1");

  // Reference values: B caches the absence, A registers, B answers with the value.
  const rvPath = "/kbs/v0/reference-value/cache-rv";
  await assert.rejects(adminCall(b, token, "GET", rvPath), /RvpsError/);
  const rv = {
    version: "0.1.0",
    type: "sample",
    payload: btoa(JSON.stringify({ "cache-rv": ["y"] })),
  };
  await adminCall(a, token, "POST", "/kbs/v0/reference-value", JSON.stringify(rv));
  assert.deepEqual(JSON.parse(await adminCall(b, token, "GET", rvPath)), ["y"]);

  // Attestation (appraisal) policy: B's next /attest appraises with A's new policy.
  await adminCall(
    a,
    token,
    "POST",
    "/kbs/v0/attestation-policy",
    JSON.stringify({ policy_id: "default_cpu", policy: b64u(BROKEN_APPRAISAL) }),
  );
  await assert.rejects(
    runFlow(onB, "cache/key/1"),
    /attest on .* failed: 401 .*unknown trust claim/,
  );
}

Deno.test({
  name:
    "two replicas on PostgreSQL: a policy or reference value written on A applies to B's next request",
  ...skipUnless(postgresPeers(), "policy caches across replicas on PostgreSQL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const pg = await startPostgres();
    try {
      await withReplicas(
        { type: "Postgres", socketDir: pg.socketDir, port: pg.port },
        writesOnAApplyOnB,
      );
    } finally {
      await pg.stop();
    }
  },
});

Deno.test({
  name:
    "two replicas on Redis: a policy or reference value written on A applies to B's next request",
  ...skipUnless(redisPeers(), "policy caches across replicas on Redis"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const redis = await startRedis();
    try {
      await withReplicas({ type: "Redis", url: redis.url }, writesOnAApplyOnB);
    } finally {
      await redis.stop();
    }
  },
});
