import assert from "node:assert/strict";
import { attest, auth, testKbs } from "./_testing.ts";
import { parseLimits } from "./limits.ts";
import { ServiceError, withDeadline } from "./errors.ts";

const AUTH = JSON.stringify({ version: "0.4.0", tee: "sample", "extra-params": "" });

Deno.test("/metrics serves upstream metric names and latency histograms after a flow", async () => {
  const t = await testKbs();
  try {
    await attest(t);
    const res = await t.call("GET", "/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (
      const line of [
        /^kbs_build_info\{version="0\.1\.0",git_hash="unknown",build_date="unknown"\} 1$/m,
        /^kbs_http_requests_total 2$/m,
        /^kbs_auth_requests_total 1$/m,
        /^kbs_auth_successes_total 1$/m,
        /^kbs_attestation_requests_total 1$/m,
        /^kbs_attestation_successes_total\{tee_type="sample"\} 1$/m,
        /^kbs_http_request_duration_seconds_bucket\{le="\+Inf"\} 2$/m,
        /^trustee_http_request_duration_seconds_count\{route="\/kbs\/v0\/auth",method="POST",status="200"\} 1$/m,
        /^# TYPE kbs_http_request_duration_seconds histogram$/m,
      ]
    ) assert.match(text, line);
  } finally {
    await t.close();
  }
});

Deno.test("/metrics counts policy denials and resource reads when resources are requested", async () => {
  const t = await testKbs();
  try {
    const admin = { Authorization: `Bearer ${t.adminToken}` };
    await t.call("POST", "/kbs/v0/resource/a/b/c", { body: "s", headers: admin });
    const h = await attest(t);
    const denied = await t.call("GET", "/kbs/v0/resource/a/b/c", { headers: { Cookie: h.cookie } });
    assert.equal(denied.status, 401);
    const text = await (await t.call("GET", "/metrics")).text();
    assert.match(text, /^kbs_policy_evaluations_total 1$/m);
    assert.match(text, /^kbs_policy_violations_total 1$/m);
    assert.match(text, /^kbs_resource_writes_total\{resource_path="a\/b\/c"\} 1$/m);
  } finally {
    await t.close();
  }
});

Deno.test("every response carries a request id, echoing a well-formed one from the client", async () => {
  const t = await testKbs();
  try {
    const echoed = await t.call("GET", "/healthz", { headers: { "X-Request-Id": "abc-123" } });
    assert.equal(echoed.headers.get("x-request-id"), "abc-123");
    const fresh = await t.call("GET", "/healthz", { headers: { "X-Request-Id": "bad id\u0001" } });
    assert.match(fresh.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
  } finally {
    await t.close();
  }
});

Deno.test("/healthz and new requests answer 503 once the replica is draining", async () => {
  const t = await testKbs();
  try {
    assert.equal((await t.call("GET", "/healthz")).status, 200);
    t.kbs.deps.state.draining = true;
    const res = await t.call("GET", "/healthz");
    assert.equal(res.status, 503);
    assert.equal(await res.text(), "shutting down");
    const refused = await t.call("POST", "/kbs/v0/auth", { body: AUTH });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.match((await refused.json()).type, /\/ShuttingDown$/);
  } finally {
    await t.close();
  }
});

Deno.test("a flood of /auth from one address keeps only its newest sessions (per-client cap)", async () => {
  const t = await testKbs({ extra: { limits: { max_pending_sessions_per_client: 10 } } });
  try {
    const cookies: string[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await t.call("POST", "/kbs/v0/auth", { body: AUTH, client: "10.1.1.1" });
      assert.equal(res.status, 200);
      cookies.push(res.headers.get("set-cookie")!.split(";")[0]!);
      await res.body?.cancel();
    }
    assert.equal(t.kbs.deps.sessions.size, 10);
    assert.equal(await t.kbs.deps.sessions.get(cookies[0]!.split("=")[1]!), undefined);
    assert.ok(await t.kbs.deps.sessions.get(cookies[199]!.split("=")[1]!));
    // Another client's session is untouched by the flood.
    const other = await t.call("POST", "/kbs/v0/auth", { body: AUTH, client: "10.2.2.2" });
    const otherId = other.headers.get("set-cookie")!.split(";")[0]!.split("=")[1]!;
    for (let i = 0; i < 50; i++) {
      await (await t.call("POST", "/kbs/v0/auth", { body: AUTH, client: "10.1.1.1" })).body
        ?.cancel();
    }
    assert.ok(await t.kbs.deps.sessions.get(otherId));
    const metrics = await (await t.call("GET", "/metrics")).text();
    assert.match(metrics, /^trustee_sessions_evicted_total\{reason="client"\} 240$/m);
  } finally {
    await t.close();
  }
});

Deno.test("a flood of /auth from many addresses is capped by max_sessions, oldest evicted", async () => {
  const t = await testKbs({ extra: { limits: { max_sessions: 50 } } });
  try {
    for (let i = 0; i < 300; i++) {
      const res = await t.call("POST", "/kbs/v0/auth", {
        body: AUTH,
        client: `10.0.${i >> 8}.${i & 255}`,
      });
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    assert.equal(t.kbs.deps.sessions.size, 50);
    // The store itself holds no more than the cap (Memory: nothing else keeps them alive).
    const h = await auth(t);
    assert.equal(t.kbs.deps.sessions.size, 50);
    const ok = await t.call("POST", "/kbs/v0/attest", {
      body: h.attestBody(),
      headers: { Cookie: h.cookie },
    });
    assert.equal(ok.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("an oversized /auth body is refused with 413 before it is parsed", async () => {
  const t = await testKbs({ payloadMiB: 1 });
  try {
    const res = await t.call("POST", "/kbs/v0/auth", { body: "x".repeat(1024 * 1024 + 1) });
    assert.equal(res.status, 413);
    assert.match((await res.json()).type, /PayloadTooLarge$/);
  } finally {
    await t.close();
  }
});

Deno.test("withDeadline() rejects with a Timeout ServiceError naming the limit when the work is too slow", async () => {
  let release!: () => void;
  const slow = new Promise<string>((r) => (release = () => r("late")));
  await assert.rejects(
    withDeadline("Evidence verification", "verification_timeout_ms", 5, slow),
    (err: unknown) => {
      assert.ok(err instanceof ServiceError);
      assert.equal(err.code, "Timeout");
      assert.equal(
        err.message,
        "Evidence verification took longer than 5 ms (limits.verification_timeout_ms)",
      );
      return true;
    },
  );
  release();
  assert.equal(await withDeadline("x", "policy_timeout_ms", 1000, Promise.resolve(7)), 7);
});

Deno.test("parseLimits() applies defaults and refuses unknown or non-positive values naming the key", () => {
  assert.equal(parseLimits(undefined).max_sessions, 50_000);
  assert.equal(parseLimits({ max_sessions: 5 }).max_sessions, 5);
  assert.equal(parseLimits(undefined).policy_cache_ms, 1000);
  assert.equal(parseLimits({ policy_cache_ms: 0 }).policy_cache_ms, 0);
  assert.equal(parseLimits({ policy_cache_ms: 250 }).policy_cache_ms, 250);
  assert.throws(
    () => parseLimits({ max_sessions: 0 }),
    /limits\.max_sessions must be a positive integer/,
  );
  assert.throws(() => parseLimits({ max_session: 1 }), /unknown field `max_session`/);
  assert.throws(
    () => parseLimits({ trust_forwarded_for: "yes" }),
    /limits\.trust_forwarded_for must be a boolean/,
  );
});

Deno.test("a corrupt stored session is removed and reported naming its id, then a new handshake works", async () => {
  const t = await testKbs();
  try {
    const h = await auth(t);
    const id = h.cookie.split("=")[1]!;
    const store = t.kbs.deps.sessions as unknown as {
      kv: { set(k: string, v: Uint8Array): Promise<unknown> };
    };
    await store.kv.set(id, new TextEncoder().encode("{not json"));
    const res = await t.call("POST", "/kbs/v0/attest", {
      body: h.attestBody(),
      headers: { Cookie: h.cookie },
    });
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.match(
      body.detail,
      new RegExp(
        `^Stored session ${id} in namespace "kbs_protocol_session" is corrupt and was removed: `,
      ),
    );
    assert.equal(await t.kbs.deps.sessions.get(id), undefined);
    await attest(t);
  } finally {
    await t.close();
  }
});

Deno.test("trust_forwarded_for counts sessions per X-Forwarded-For client, not per proxy address", async () => {
  const t = await testKbs({
    extra: { limits: { max_pending_sessions_per_client: 3, trust_forwarded_for: true } },
  });
  try {
    const ids: Record<string, string[]> = { "1.1.1.1": [], "2.2.2.2": [] };
    for (let i = 0; i < 10; i++) {
      for (const xff of Object.keys(ids)) {
        const res = await t.call("POST", "/kbs/v0/auth", {
          body: AUTH,
          client: "10.0.0.1", // the proxy
          headers: { "X-Forwarded-For": `${xff}, 10.0.0.1` },
        });
        ids[xff]!.push(res.headers.get("set-cookie")!.split(";")[0]!.split("=")[1]!);
        await res.body?.cancel();
      }
    }
    assert.equal(t.kbs.deps.sessions.size, 6, "3 per forwarded client");
    for (const list of Object.values(ids)) {
      assert.equal(await t.kbs.deps.sessions.get(list[0]!), undefined);
      assert.ok(await t.kbs.deps.sessions.get(list[9]!));
    }
  } finally {
    await t.close();
  }
});

Deno.test("/metrics labels invented paths as other so a client cannot grow the series", async () => {
  const t = await testKbs();
  try {
    for (let i = 0; i < 20; i++) await (await t.call("GET", `/kbs/v0/x${i}/y`)).body?.cancel();
    const text = await (await t.call("GET", "/metrics")).text();
    assert.match(
      text,
      /^trustee_http_request_duration_seconds_count\{route="other",method="GET",status="404"\} 20$/m,
    );
    assert.doesNotMatch(text, /x1\//);
  } finally {
    await t.close();
  }
});
