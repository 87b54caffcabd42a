/**
 * End to end, with the bundled executables as child processes: `dist/trustee.js serve` with the
 * upstream e2e config (`kbs/test/config/kbs.toml`, adapted to a temporary directory and insecure
 * HTTP), the admin CLI provisioning a resource, and `dist/coco-guest.js all` (sample TEE) fetching
 * it over api-server-rest. The default resource policy must refuse the sample TEE; after
 * `set-resource-policy --allow-all` the secret is released.
 */
import assert from "node:assert/strict";
import { parse, stringify } from "smol-toml";
import { makeTokenPki } from "../certs.ts";
import { makeAdminCredentials, runDeno, startDeno, type Started } from "../harness.ts";

const UPSTREAM_CONFIG = new URL(
  "../../../shared/testdata/trustee/kbs/test/config/kbs.toml",
  import.meta.url,
);

async function adaptConfig(work: string): Promise<string> {
  const text = (await Deno.readTextFile(UPSTREAM_CONFIG)).replaceAll("./work", work);
  const cfg = parse(text) as Record<string, Record<string, unknown>>;
  cfg.http_server!.sockets = ["127.0.0.1:0"];
  cfg.http_server!.insecure_http = true;
  const path = `${work}/kbs.toml`;
  await Deno.writeTextFile(path, stringify(cfg));
  return path;
}

const haveConfig = await Deno.stat(UPSTREAM_CONFIG).then(() => true, () => false);
if (!haveConfig) {
  console.log(
    `SKIPPED kbs e2e: ${UPSTREAM_CONFIG.pathname} is missing (shared/ testdata not beside the checkout)`,
  );
}

Deno.test({
  ignore: !haveConfig,
  name:
    "bundled trustee + coco-guest: default policy refuses the sample TEE, allow-all releases the secret",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const work = await Deno.makeTempDir({ prefix: "coco-e2e-" });
    const procs: Started[] = [];
    try {
      await makeTokenPki(work);
      // Admin key: Ed25519, public half where the upstream config expects it (./work/kbs.pem).
      await makeAdminCredentials("dist/trustee.js", work);

      const trustee = await startDeno({
        name: "trustee",
        args: ["run", "-A", "dist/trustee.js", "serve", "-c", await adaptConfig(work)],
        ready: /trustee listening on (http:\/\/\S+)/,
      });
      procs.push(trustee);
      const url = trustee.match[1]!;

      const secret = `e2e secret ${crypto.randomUUID()}`;
      await Deno.writeTextFile(`${work}/secret.bin`, secret);
      const client = (...args: string[]) =>
        runDeno(["run", "-A", "dist/trustee.js", "client", "--url", url, ...args]);
      const setRes = await client(
        "config",
        "--admin-token-file",
        `${work}/admin-token`,
        "set-resource",
        "--path",
        "default/key/e2e",
        "--resource-file",
        `${work}/secret.bin`,
      );
      assert.equal(setRes.code, 0, setRes.stderr);
      // Upstream LocalFs layout: the resource is a file named with literal \x2F separators.
      assert.equal(
        await Deno.readTextFile(`${work}/storage/repository/default\\x2Fkey\\x2Fe2e`),
        secret,
      );

      // A wrong admin token is refused.
      await Deno.writeTextFile(`${work}/bad-token`, "not.a.jwt");
      const bad = await client(
        "config",
        "--admin-token-file",
        `${work}/bad-token`,
        "set-resource-policy",
        "--allow-all",
      );
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /HTTP 401/);

      await Deno.writeTextFile(
        `${work}/guest.toml`,
        stringify({
          tee: "sample",
          aa: { socket: `unix://${work}/aa.sock`, token_configs: { kbs: { url } } },
          cdh: { socket: `unix://${work}/cdh.sock`, kbc: { name: "cc_kbc", url } },
          api_server_rest: { bind: "127.0.0.1:0", features: "all" },
        }),
      );
      const guest = await startDeno({
        name: "coco-guest",
        args: ["run", "-A", "dist/coco-guest.js", "all", "--config", `${work}/guest.toml`],
        ready: /api-server-rest listening on (http:\/\/\S+)/,
      });
      procs.push(guest);
      const asr = guest.match[1]!;

      const denied = await fetch(`${asr}/cdh/resource/default/key/e2e`);
      const deniedBody = await denied.text();
      assert.notEqual(denied.status, 200, "the default policy must refuse the sample TEE");
      assert.match(deniedBody, /denied by policy/i);
      assert.equal(deniedBody.includes(secret), false);

      const allow = await client(
        "config",
        "--admin-token-file",
        `${work}/admin-token`,
        "set-resource-policy",
        "--allow-all",
      );
      assert.equal(allow.code, 0, allow.stderr);

      const ok = await fetch(`${asr}/cdh/resource/default/key/e2e`);
      assert.equal(ok.status, 200, `${await ok.clone().text()}\n${trustee.log()}\n${guest.log()}`);
      assert.equal(await ok.text(), secret);

      const info = await (await fetch(`${asr}/info`)).json();
      assert.equal(info.tee, "sample");
    } catch (err) {
      for (const p of procs) console.error(p.log());
      throw err;
    } finally {
      for (const p of procs.reverse()) await p.stop();
      await Deno.remove(work, { recursive: true });
    }
  },
});
