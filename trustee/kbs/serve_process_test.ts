/**
 * `trustee serve` as a real child process: HTTPS with a configured certificate and with a
 * generated self-signed one (TLS 1.2+ only), and SIGTERM finishing an in-flight request before
 * the process exits.
 */
import assert from "node:assert/strict";
import { findPeers } from "../../tests/peers.ts";
import { startDeno, type Started } from "../../tests/harness.ts";
import { serveArgs, writeClusterConfig } from "./cluster_testing.ts";
import { makeSelfSigned } from "./tls.ts";

async function start(
  dir: string,
  http: Record<string, unknown>,
  flags: string[] = [],
): Promise<Started> {
  const { configPath } = await writeClusterConfig(dir, { type: "LocalFs", dir: `${dir}/data` }, {
    http_server: { sockets: ["127.0.0.1:0"], ...http },
  });
  return await startDeno({
    name: "trustee serve",
    args: [...serveArgs(configPath), "--home", dir, ...flags],
    ready: /trustee listening on (https?:\/\/\S+)/,
    env: { COCO_LOG: "warn" },
  });
}

async function tlsHandshake(port: number, version: string): Promise<boolean> {
  const out = await new Deno.Command("openssl", {
    args: ["s_client", "-connect", `127.0.0.1:${port}`, `-${version}`, "-brief"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return out.success;
}

Deno.test({
  name: "serve --self-signed answers HTTPS with a generated certificate, TLS 1.2+ only",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "trustee-tls-" });
    let p: Started | undefined;
    try {
      p = await start(dir, { insecure_http: false }, ["--self-signed"]);
      const url = p.match[1]!;
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const cert = await Deno.readTextFile(`${dir}/https_cert_cache.pem`);
      const client = Deno.createHttpClient({ caCerts: [cert] });
      const res = await fetch(`${url}/healthz`, { client });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      client.close();
      await assert.rejects(fetch(`${url}/healthz`)); // not trusted without the certificate
      if (findPeers("openssl").ok) {
        const port = Number(new URL(url).port);
        assert.equal(await tlsHandshake(port, "tls1_2"), true);
        assert.equal(await tlsHandshake(port, "tls1_1"), false);
      } else {
        console.log("SKIPPED TLS version probe: openssl is not installed");
      }
    } finally {
      await p?.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "serve uses the configured certificate and key, and refuses HTTPS without them",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "trustee-tls-" });
    let p: Started | undefined;
    try {
      const made = await makeSelfSigned(["127.0.0.1"]);
      await Deno.writeTextFile(`${dir}/cert.pem`, made.cert);
      await Deno.writeTextFile(`${dir}/key.pem`, made.key);
      p = await start(dir, {
        insecure_http: false,
        certificate: `${dir}/cert.pem`,
        private_key: `${dir}/key.pem`,
      });
      const client = Deno.createHttpClient({ caCerts: [made.cert] });
      const res = await fetch(`${p.match[1]}/healthz`, { client });
      assert.equal(res.status, 200);
      await res.body?.cancel();
      client.close();
      await p.stop();
      p = undefined;
      await assert.rejects(
        start(`${dir}`, { insecure_http: false }),
        /Cannot serve HTTPS: http_server\.certificate and http_server\.private_key are required/,
      );
    } finally {
      await p?.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "SIGTERM lets an in-flight request finish, then the process exits 0",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "trustee-term-" });
    let p: Started | undefined;
    try {
      p = await start(dir, { insecure_http: true });
      const url = p.match[1]!;
      let push!: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
      const enc = new TextEncoder();
      push.enqueue(enc.encode('{"version":"0.4.0",'));
      const pending = fetch(`${url}/kbs/v0/auth`, { method: "POST", body });
      // The request is in flight once the server counts it (polling /metrics, not sleeping).
      for (;;) {
        const m = await (await fetch(`${url}/metrics`)).text();
        if (/^kbs_http_active_connections 1$/m.test(m)) break;
      }
      p.child.kill("SIGTERM");
      while (!p.log().includes("shutting down")) {
        await new Promise((r) => setTimeout(r, 10)); // waiting for the child's log line
      }
      push.enqueue(enc.encode('"tee":"sample","extra-params":""}'));
      push.close();
      const res = await pending;
      assert.equal(res.status, 200, `${await res.clone().text()}\n${p.log()}`);
      assert.equal(typeof (await res.json()).nonce, "string");
      const status = await p.child.status;
      assert.equal(status.code, 0);
    } finally {
      await p?.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
