/**
 * `deno task demo`, the main job: a workload in a (sample) TEE gets a secret from the trustee over
 * the real KBS protocol. Starts a trustee (local data directory in a temp folder), sets a resource
 * policy that admits the sample TEE (development only — announced), provisions a secret with the
 * admin API, starts the guest roles (AA, CDH, api-server-rest) with the sample TEE, fetches the
 * secret the way a workload does (HTTP to 127.0.0.1 api-server-rest), and shuts down.
 */
import { AdminClient } from "../trustee/client/admin_client.ts";
import { startDeno, type Started } from "../tests/harness.ts";

const SAMPLE_POLICY =
  `# Demo policy: admit the sample TEE (development only; never use in production).
package policy
import rego.v1
default allow := false
allow if {
  data.plugin == "resource"
  input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}
`;

const t0 = performance.now();
let last = t0;
function step(what: string, detail = "") {
  const now = performance.now();
  console.log(
    `[${((now - t0) / 1000).toFixed(2).padStart(6)} s] (+${
      (now - last).toFixed(0).padStart(5)
    } ms) ${what}${detail ? "  " + detail : ""}`,
  );
  last = now;
}

const home = await Deno.makeTempDir({ prefix: "coco-demo-" });
const procs: Started[] = [];
let failed = false;
try {
  const trustee = await startDeno({
    name: "trustee",
    args: [
      "run",
      "-A",
      "trustee/main.ts",
      "serve",
      "--home",
      `${home}/trustee`,
      "--socket",
      "127.0.0.1:0",
    ],
    ready: /trustee listening on (http:\/\/\S+)/,
  });
  procs.push(trustee);
  const url = trustee.match[1]!;
  step("trustee started", `${url}  data: ${home}/trustee`);

  const admin = new AdminClient({
    url,
    token: (await Deno.readTextFile(`${home}/trustee/admin-token`)).trim(),
  });
  await admin.setResourcePolicy(SAMPLE_POLICY);
  step("resource policy set", "admits the SAMPLE TEE — development only");
  const secret = `demo secret ${crypto.randomUUID().slice(0, 8)}`;
  await admin.setResource("default/demo/secret", new TextEncoder().encode(secret));
  admin.close();
  step("secret provisioned", "kbs:///default/demo/secret");

  await Deno.writeTextFile(
    `${home}/guest.toml`,
    [
      'tee = "sample"',
      "[aa]",
      `socket = "unix://${home}/aa.sock"`,
      "[aa.token_configs.kbs]",
      `url = "${url}"`,
      "[cdh]",
      `socket = "unix://${home}/cdh.sock"`,
      "[cdh.kbc]",
      'name = "cc_kbc"',
      `url = "${url}"`,
      "[api_server_rest]",
      'bind = "127.0.0.1:0"',
      'features = "all"',
      "",
    ].join("\n"),
  );
  const guest = await startDeno({
    name: "coco-guest",
    args: ["run", "-A", "guest/main.ts", "all", "--config", `${home}/guest.toml`],
    ready: /api-server-rest listening on (http:\/\/\S+)/,
  });
  procs.push(guest);
  const asr = guest.match[1]!;
  step("guest roles started", `AA + CDH + api-server-rest ${asr} (sample TEE)`);

  const info = await (await fetch(`${asr}/info`)).json();
  step("guest /info", JSON.stringify(info));

  const res = await fetch(`${asr}/cdh/resource/default/demo/secret`);
  const body = await res.text();
  const released = res.status === 200 && body === secret;
  step(
    "workload GET /cdh/resource/default/demo/secret",
    `HTTP ${res.status} → ${released ? "RELEASED" : "REFUSED"}`,
  );
  if (!released) throw new Error(`expected the secret, got HTTP ${res.status}: ${body}`);
  console.log(`\n  secret received by the workload: ${JSON.stringify(body)}\n`);

  const again = await fetch(`${asr}/cdh/resource/default/demo/secret`);
  await again.text();
  step("second fetch (token reused, no new attestation)", `HTTP ${again.status}`);
} catch (err) {
  failed = true;
  console.error(`demo failed: ${(err as Error).message}`);
  for (const p of procs) console.error(p.log());
} finally {
  for (const p of procs.reverse()) await p.stop();
  await Deno.remove(home, { recursive: true });
  step("stopped everything and removed the temporary data");
}
Deno.exit(failed ? 1 : 0);
