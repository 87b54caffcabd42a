/**
 * End to end with a real software TPM: swtpm on a unix socket, `trustee serve` (from source)
 * trusting the swtpm's attestation key through `trusted_ak_keys_dir`, a resource policy that
 * requires a specific PCR 7 value, and the guest's KBS client with the `tpm` attester as its
 * evidence provider. The secret is released for the measured state; after `tpm2_pcrextend`
 * changes PCR 7 the same request is refused.
 */
import assert from "node:assert/strict";
import { parse, stringify } from "smol-toml";
import { KbsClient, KbsClientError } from "@coco/lib/kbs/client";
import { parseResourceUri } from "@coco/lib/kbs";
import { spkiToPem, startSwtpm, type Swtpm } from "@coco/lib/tee/tpm";
import { TpmAttester } from "../../guest/attester/tpm.ts";
import { makeTokenPki } from "../certs.ts";
import { makeAdminCredentials, runDeno, startDeno, type Started } from "../harness.ts";
import { findPeers, requireAlso, skipUnless } from "../peers.ts";

const TRUSTEE = new URL("../../trustee/main.ts", import.meta.url).pathname;

const UPSTREAM_CONFIG = new URL(
  "../../../shared/testdata/trustee/kbs/test/config/kbs.toml",
  import.meta.url,
);
const haveConfig = await Deno.stat(UPSTREAM_CONFIG).then(() => true, () => false);
const peers = requireAlso(
  findPeers("swtpm", "tpm2_pcrextend"),
  haveConfig,
  `${UPSTREAM_CONFIG.pathname} is missing (shared/ testdata not beside the checkout)`,
);

/** Upstream's e2e kbs.toml (it already has a tpm_verifier section), in `work`, plain HTTP. */
async function kbsConfig(work: string): Promise<string> {
  const text = (await Deno.readTextFile(UPSTREAM_CONFIG)).replaceAll("./work", work);
  const cfg = parse(text) as Record<string, Record<string, unknown>>;
  cfg.http_server!.sockets = ["127.0.0.1:0"];
  cfg.http_server!.insecure_http = true;
  const path = `${work}/kbs.toml`;
  await Deno.writeTextFile(path, stringify(cfg));
  return path;
}

function pcr7Policy(value: string): string {
  return `package policy
import rego.v1
default allow := false
allow if {
  data.plugin == "resource"
  input.submods.cpu0["ear.veraison.annotated-evidence"].tpm.pcr07 == "${value}"
}
`;
}

async function adminSetup(work: string, url: string, secretFile: string, policyFile: string) {
  const client = (...args: string[]) =>
    runDeno(["run", "-A", TRUSTEE, "client", "--url", url, "config", ...args]);
  const token = ["--admin-token-file", `${work}/admin-token`];
  const res = await client(
    ...token,
    "set-resource",
    "--path",
    "default/key/tpm",
    "--resource-file",
    secretFile,
  );
  assert.equal(res.code, 0, res.stderr);
  const pol = await client(...token, "set-resource-policy", "--policy-file", policyFile);
  assert.equal(pol.code, 0, pol.stderr);
}

Deno.test({
  name:
    "swtpm + trustee tpm verifier: PCR 7 policy releases the secret, refuses it after an extend",
  ...skipUnless(peers, "tpm e2e"),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const work = await Deno.makeTempDir({ prefix: "coco-tpm-e2e-" });
    const procs: Started[] = [];
    let sw: Swtpm | undefined;
    try {
      sw = await startSwtpm(peers.paths["swtpm"]);
      const attester = new TpmAttester({ target: { socket: sw.socket }, eventLogPath: null });
      // The "measured boot": something lands in PCR 7 before attestation.
      await attester.extendPcr(
        7,
        new Uint8Array(
          await crypto.subtle.digest("SHA-256", new TextEncoder().encode("secure boot db")),
        ),
      );
      const pcr7 = (await attester.readPcr(7)).toHex();
      const akDir = `${work}/attestation-service/tpm_trusted_keys`;
      await Deno.mkdir(akDir, { recursive: true });
      await Deno.writeTextFile(
        `${akDir}/swtpm.pub`,
        spkiToPem(await attester.akPublic()),
      );

      await makeTokenPki(work);
      await makeAdminCredentials(TRUSTEE, work);

      const trustee = await startDeno({
        name: "trustee",
        args: ["run", "-A", TRUSTEE, "serve", "-c", await kbsConfig(work)],
        ready: /trustee listening on (http:\/\/\S+)/,
      });
      procs.push(trustee);
      const url = trustee.match[1]!;
      const secret = `tpm secret ${crypto.randomUUID()}`;
      await Deno.writeTextFile(`${work}/secret.bin`, secret);
      await Deno.writeTextFile(`${work}/policy.rego`, pcr7Policy(pcr7));
      await adminSetup(work, url, `${work}/secret.bin`, `${work}/policy.rego`);

      const first = new KbsClient({ url, evidence: attester });
      try {
        const got = await first.getResource(parseResourceUri("kbs:///default/key/tpm"));
        assert.equal(new TextDecoder().decode(got), secret, trustee.log());
      } finally {
        first.close();
      }

      // Change the measured state with the real tpm2-tools against the same swtpm.
      const ext = await new Deno.Command(peers.paths["tpm2_pcrextend"]!, {
        args: [`7:sha256=${"ab".repeat(32)}`],
        env: { TPM2TOOLS_TCTI: `swtpm:path=${sw.socket}` },
      }).output();
      assert.equal(ext.code, 0, new TextDecoder().decode(ext.stderr));
      assert.notEqual((await attester.readPcr(7)).toHex(), pcr7);

      const second = new KbsClient({ url, evidence: attester });
      try {
        await assert.rejects(
          second.getResource(parseResourceUri("kbs:///default/key/tpm")),
          (err: unknown) => {
            assert.ok(err instanceof KbsClientError, String(err));
            assert.match(err.message, /polic/i);
            return true;
          },
        );
      } finally {
        second.close();
      }
    } catch (err) {
      for (const p of procs) console.error(p.log());
      throw err;
    } finally {
      for (const p of procs.reverse()) await p.stop();
      await sw?.stop();
      await Deno.remove(work, { recursive: true });
    }
  },
});
