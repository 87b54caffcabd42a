/**
 * Attestation end to end, from source, as child processes: `trustee serve` (upstream e2e config,
 * plain HTTP) and `coco-guest all` with the sample TEE plus a `sampledevice` and the AA event
 * log enabled. A resource policy asks for three things at once: a composite EAR token with a
 * device submod (`gpu0`), a device appraisal raised by a reference value set through
 * `trustee client config set-sample-reference-value`, and a runtime measurement recorded
 * through `POST /aa/aael` that the verifier exposes to policies. Each missing piece keeps the
 * secret locked; with all three the secret is released.
 */
import assert from "node:assert/strict";
import { decodeJwt } from "jose";
import { parse, stringify } from "smol-toml";
import { makeTokenPki } from "../certs.ts";
import { runDeno, startDeno, type Started } from "../harness.ts";
import { trusteeAdmin } from "./_trustee_fixture.ts";

const TRUSTEE = new URL("../../trustee/main.ts", import.meta.url).pathname;
const GUEST = new URL("../../guest/main.ts", import.meta.url).pathname;
const UPSTREAM_CONFIG = new URL(
  "../../../shared/testdata/trustee/kbs/test/config/kbs.toml",
  import.meta.url,
);
const haveConfig = await Deno.stat(UPSTREAM_CONFIG).then(() => true, () => false);
if (!haveConfig) {
  console.log(`SKIPPED attestation e2e: ${UPSTREAM_CONFIG.pathname} is missing`);
}

async function kbsConfig(work: string): Promise<string> {
  const text = (await Deno.readTextFile(UPSTREAM_CONFIG)).replaceAll("./work", work);
  const cfg = parse(text) as Record<string, Record<string, unknown>>;
  cfg.http_server!.sockets = ["127.0.0.1:0"];
  cfg.http_server!.insecure_http = true;
  const path = `${work}/kbs.toml`;
  await Deno.writeTextFile(path, stringify(cfg));
  return path;
}

const POLICY = `package policy
import rego.v1
default allow := false
allow if {
  data.plugin == "resource"
  input.submods.gpu0["ear.veraison.annotated-evidence"].sampledevice.svn == "2"
  input.submods.gpu0["ear.trustworthiness-vector"].hardware == 2
  some e in input.submods.cpu0["ear.veraison.annotated-evidence"].sample.uefi_event_logs
  e.details.data.operation == "PullImage"
  e.details.data.content.image == "registry.test/app:1"
}
`;

async function adminToken(work: string) {
  const keygen = await runDeno(["run", "-A", TRUSTEE, "keygen", "-f", `${work}/admin.key`]);
  assert.equal(keygen.code, 0, keygen.stderr);
  await Deno.copyFile(`${work}/admin.key.pub`, `${work}/kbs.pem`);
  const minted = await runDeno([
    "run",
    "-A",
    TRUSTEE,
    "token",
    "-k",
    `${work}/admin.key`,
    "--issuer",
    "issuer",
    "--audience",
    "kbs",
  ]);
  assert.equal(minted.code, 0, minted.stderr);
  await Deno.writeTextFile(`${work}/admin-token`, minted.stdout.trim());
}

Deno.test({
  ignore: !haveConfig,
  name:
    "trustee + coco-guest (sample + sampledevice): composite EAR, reference value and AAEL gate a secret",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const work = await Deno.makeTempDir({ prefix: "coco-attest-e2e-" });
    const procs: Started[] = [];
    try {
      await makeTokenPki(work);
      await adminToken(work);
      const trustee = await startDeno({
        name: "trustee",
        args: ["run", "-A", TRUSTEE, "serve", "-c", await kbsConfig(work)],
        ready: /trustee listening on (http:\/\/\S+)/,
      });
      procs.push(trustee);
      const url = trustee.match[1]!;
      const admin = trusteeAdmin(TRUSTEE, url, `${work}/admin-token`);
      const secret = `attested ${crypto.randomUUID()}`;
      await Deno.writeTextFile(`${work}/secret.bin`, secret);
      await Deno.writeTextFile(`${work}/policy.rego`, POLICY);
      await admin(
        "set-resource",
        "--path",
        "default/key/e2e",
        "--resource-file",
        `${work}/secret.bin`,
      );
      await admin("set-resource-policy", "--policy-file", `${work}/policy.rego`);

      await Deno.writeTextFile(
        `${work}/guest.toml`,
        stringify({
          tee: "sample",
          aa: {
            socket: `unix://${work}/aa.sock`,
            token_configs: { kbs: { url } },
            eventlog_config: { enable_eventlog: true },
          },
          cdh: { socket: `unix://${work}/cdh.sock`, kbc: { name: "cc_kbc", url } },
          api_server_rest: { bind: "127.0.0.1:0", features: "all" },
        }),
      );
      const guest = await startDeno({
        name: "coco-guest",
        args: ["run", "-A", GUEST, "all", "--config", `${work}/guest.toml`],
        env: { ENABLE_SAMPLE_DEVICE: "1", AAEL_PATH: `${work}/aael/eventlog` },
        ready: /api-server-rest listening on (http:\/\/\S+)/,
      });
      procs.push(guest);
      const asr = guest.match[1]!;
      const fetchSecret = async () => {
        const res = await fetch(`${asr}/cdh/resource/default/key/e2e`);
        return { status: res.status, body: await res.text() };
      };

      // The token is composite: one submod per device.
      const tokenRes = await fetch(`${asr}/aa/token?token_type=kbs`);
      assert.equal(tokenRes.status, 200);
      const claims = decodeJwt((await tokenRes.json()).token);
      assert.deepEqual(Object.keys(claims.submods as object).sort(), ["cpu0", "gpu0"]);

      // 1. Neither the runtime measurement nor the reference value: locked.
      const first = await fetchSecret();
      assert.notEqual(first.status, 200);
      assert.equal(first.body.includes(secret), false);

      // 2. The runtime measurement through api-server-rest, but still no reference value.
      const aael = await fetch(`${asr}/aa/aael`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          domain: "github.com/confidential-containers",
          operation: "PullImage",
          content: '{"digest":"sha256:00","image":"registry.test/app:1"}',
        }),
      });
      assert.deepEqual(await aael.json(), { success: "true" });
      assert.ok((await Deno.stat(`${work}/aael/eventlog`)).size > 0);
      const second = await fetchSecret();
      assert.notEqual(second.status, 200, "the device's hardware claim is not affirmed yet");
      // The refusal made the guest re-attest: its token now carries the AAEL entry, and the
      // device's hardware claim is still the policy default.
      type Sub = Record<string, Record<string, Record<string, Record<string, unknown>>>>;
      const after = decodeJwt((await (await fetch(`${asr}/aa/token?token_type=kbs`)).json()).token)
        .submods as Sub;
      const logs = after.cpu0!["ear.veraison.annotated-evidence"]!.sample!.uefi_event_logs;
      assert.equal((logs as unknown[]).length, 1);
      const vector = after.gpu0!["ear.trustworthiness-vector"] as unknown as Record<string, number>;
      assert.equal(vector.hardware, 97);

      // 3. The reference value raises the device's appraisal: released.
      await admin("set-sample-reference-value", "device_svn", "2");
      assert.equal((await admin("get-reference-value", "--id", "device_svn")).trim(), '["2"]');
      const third = await fetchSecret();
      assert.equal(third.status, 200, `${third.body}\n${trustee.log()}\n${guest.log()}`);
      assert.equal(third.body, secret);
    } catch (err) {
      for (const p of procs) console.error(p.log());
      throw err;
    } finally {
      for (const p of procs.reverse()) await p.stop();
      await Deno.remove(work, { recursive: true });
    }
  },
});
