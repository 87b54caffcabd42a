/**
 * Scale-out and faults, with real processes: two `trustee serve` replicas on loopback sharing a
 * real PostgreSQL (and, in one variant, Redis for sessions). A client alternates replicas for
 * `/auth`, `/attest` and the resource; admin writes on one replica are read on the other; a
 * token minted by one verifies on the other. Faults: a replica killed under load (clients retry
 * on the other, no resource lost) and PostgreSQL restarted under load (clear 503s, then
 * recovery).
 */
import assert from "node:assert/strict";
import { createClient } from "redis";
import { generateTeeKeyPair } from "@coco/lib/jose";
import { skipUnless } from "../peers.ts";
import { startDeno, type Started } from "../harness.ts";
import {
  adminCall,
  type ClusterStorage,
  runFlow,
  serveArgs,
  writeClusterConfig,
} from "../../trustee/kbs/cluster_testing.ts";
import {
  postgresPeers,
  redisPeers,
  startPostgres,
  startRedis,
  type TestPostgres,
  type TestRedis,
} from "../../trustee/storage/test_servers.ts";

const pgPeers = postgresPeers();
const bothPeers = pgPeers.ok ? redisPeers() : pgPeers;
const ALLOW =
  'package policy\nimport rego.v1\ndefault allow := false\nallow if data.plugin == "resource"\n';
const b64u = (s: string) =>
  new TextEncoder().encode(s).toBase64({ alphabet: "base64url", omitPadding: true });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

interface Cluster {
  urls: string[];
  replicas: Started[];
  token: string;
  pg: TestPostgres;
  redis?: TestRedis;
  dir: string;
}

async function startReplica(configPath: string, name: string): Promise<Started> {
  return await startDeno({
    name,
    args: serveArgs(configPath),
    ready: /trustee listening on (http:\/\/\S+)/,
    env: { COCO_LOG: "warn" },
  });
}

async function withCluster(withRedis: boolean, body: (c: Cluster) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "trustee-scale-" });
  const pg = await startPostgres();
  const redis = withRedis ? await startRedis() : undefined;
  const replicas: Started[] = [];
  try {
    const storage: ClusterStorage = {
      type: "Postgres",
      socketDir: pg.socketDir,
      port: pg.port,
      ...(redis ? { sessions: { redisUrl: redis.url } } : {}),
    };
    const { configPath, adminToken } = await writeClusterConfig(dir, storage);
    replicas.push(await startReplica(configPath, "replica-a"));
    replicas.push(await startReplica(configPath, "replica-b"));
    const urls = replicas.map((r) => r.match[1]!);
    await body({ urls, replicas, token: adminToken, pg, ...(redis ? { redis } : {}), dir });
  } catch (err) {
    for (const r of replicas) console.error(r.log());
    throw err;
  } finally {
    for (const r of replicas) await r.stop();
    await redis?.stop();
    await pg.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

async function provision(c: Cluster, path: string, secret: string): Promise<void> {
  const [a, b] = c.urls as [string, string];
  await adminCall(a, c.token, "POST", `/kbs/v0/resource/${path}`, secret);
  await adminCall(
    b,
    c.token,
    "POST",
    "/kbs/v0/resource-policy",
    JSON.stringify({ policy: b64u(ALLOW) }),
  );
}

async function alternatingFlows(c: Cluster): Promise<void> {
  const [a, b] = c.urls as [string, string];
  const secret = `shared ${crypto.randomUUID()}`;
  await provision(c, "scale/key/1", secret);
  for (
    const targets of [{ auth: a, attest: b, resource: a }, { auth: b, attest: a, resource: b }]
  ) {
    const r = await runFlow(targets, "scale/key/1");
    assert.equal(text(r.secret), secret);
  }
  // A token minted by replica A is accepted by replica B (shared signing key), as Bearer.
  const key = await generateTeeKeyPair();
  const { token } = await runFlow({ auth: a, attest: a, resource: a }, "scale/key/1", key);
  const viaB = await fetch(`${b}/kbs/v0/resource/scale/key/1`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  assert.equal(viaB.status, 200, await viaB.clone().text());
  // Policies and reference values written through one replica are read through the other.
  assert.deepEqual(JSON.parse(await adminCall(a, c.token, "GET", "/kbs/v0/resource-policy")), [
    "resource-policy",
  ]);
  const rv = {
    version: "0.1.0",
    type: "sample",
    payload: btoa(JSON.stringify({ "scale-rv": ["x"] })),
  };
  await adminCall(a, c.token, "POST", "/kbs/v0/reference-value", JSON.stringify(rv));
  assert.deepEqual(
    JSON.parse(await adminCall(b, c.token, "GET", "/kbs/v0/reference-value/scale-rv")),
    ["x"],
  );
}

Deno.test({
  name: "two replicas sharing PostgreSQL serve a client whose auth, attest and resource alternate",
  ...skipUnless(pgPeers, "trustee scale-out over PostgreSQL"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () => withCluster(false, alternatingFlows),
});

Deno.test({
  name: "two replicas with PostgreSQL storage and Redis sessions serve alternating calls",
  ...skipUnless(bothPeers, "trustee scale-out with Redis sessions"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withCluster(true, async (c) => {
      await alternatingFlows(c);
      const r = createClient({ url: c.redis!.url });
      await r.connect();
      const keys = await r.keys("kbs_protocol_session:*");
      await r.close();
      assert.ok(keys.length >= 3, `sessions in Redis: ${keys.length}`);
    }),
});

/** Flows against alternating replicas; a failed flow is retried on the next replica. */
async function loadWithRetry(urls: string[], flows: number, workers: number, stop: () => boolean) {
  let next = 0;
  let retries = 0;
  let done = 0;
  await Promise.all(Array.from({ length: workers }, async () => {
    while (done < flows && !stop()) {
      for (let attempt = 0;; attempt++) {
        const url = urls[next++ % urls.length]!;
        try {
          await runFlow({ auth: url, attest: url, resource: url }, "scale/key/1");
          done++;
          break;
        } catch (err) {
          retries++;
          if (attempt > 20) throw err;
        }
      }
    }
  }));
  return { done, retries };
}

Deno.test({
  name:
    "killing one of two replicas under load: clients retry on the other and no resource is lost",
  ...skipUnless(pgPeers, "replica failure under load"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withCluster(false, async (c) => {
      await provision(c, "scale/key/1", "before the crash");
      const written: string[] = [];
      let killed = false;
      const load = loadWithRetry(c.urls, 60, 4, () => false);
      const writer = (async () => {
        for (let i = 0; i < 30; i++) {
          const path = `scale/written/${i}`;
          for (const url of i % 2 ? c.urls : [...c.urls].reverse()) {
            try {
              await adminCall(url, c.token, "POST", `/kbs/v0/resource/${path}`, `v${i}`);
              written.push(path);
              break;
            } catch { /* that replica is gone: retry on the other */ }
          }
          if (i === 10 && !killed) {
            killed = true;
            c.replicas[0]!.child.kill("SIGKILL");
          }
        }
      })();
      const [{ done }] = await Promise.all([load, writer]);
      assert.equal(done >= 60, true);
      assert.equal(written.length, 30, "every admin write landed on some replica");
      const survivor = c.urls[1]!;
      for (const [i, path] of written.entries()) {
        const r = await runFlow({ auth: survivor, attest: survivor, resource: survivor }, path);
        assert.equal(text(r.secret), `v${Number(path.split("/").pop())}`, `resource ${i}`);
      }
    }),
});

Deno.test({
  name: "restarting PostgreSQL under load: requests fail with a clear 503 and then recover",
  ...skipUnless(pgPeers, "PostgreSQL restart under load"),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withCluster(false, async (c) => {
      await provision(c, "scale/key/1", "survives restarts");
      let phase: "up" | "down" | "back" = "up";
      let stop = false;
      const seen = { up: 0, down503: 0, back: 0, other: [] as string[] };
      let downDetail = "";
      let sawDown!: () => void;
      const down = new Promise<void>((r) => (sawDown = r));
      let sawBack!: () => void;
      const back = new Promise<void>((r) => (sawBack = r));
      const worker = async (w: number) => {
        for (let i = 0; !stop; i++) {
          const url = c.urls[(w + i) % 2]!;
          try {
            const r = await runFlow({ auth: url, attest: url, resource: url }, "scale/key/1");
            assert.equal(text(r.secret), "survives restarts");
            if (phase === "up") seen.up++;
            if (phase === "back") {
              seen.back++;
              sawBack();
            }
          } catch (err) {
            const msg = (err as Error).message;
            const m = /failed: 503 (\{.*\})$/s.exec(msg);
            const body = m ? JSON.parse(m[1]!) : undefined;
            if (phase !== "up" && body?.type?.endsWith("/StorageUnavailable")) {
              seen.down503++;
              downDetail ||= body.detail;
              sawDown();
            } else seen.other.push(msg);
          }
        }
      };
      const load = Promise.all([0, 1, 2, 3].map(worker));
      try {
        // Let flows succeed, then take PostgreSQL away under load.
        while (seen.up < 8) await new Promise((r) => setTimeout(r, 20));
        phase = "down";
        await c.pg.halt();
        await down;
        await c.pg.start();
        phase = "back";
        await back;
      } finally {
        stop = true;
        await load;
      }
      assert.deepEqual(seen.other, [], "every failure is a clear 503 StorageUnavailable");
      assert.ok(seen.down503 > 0 && seen.back > 0);
      assert.match(
        downDetail,
        // Whichever storage call of a flow meets the outage first: a key read/write or a listing.
        /^Storage unavailable: Cannot (?:(?:write|read) key "[^"]+" in|list) namespace "[a-z_]+" \(PostgreSQL /,
      );
    }),
});
