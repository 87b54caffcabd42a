/**
 * A real `trustee serve` for e2e scenarios that need keys released after attestation: Trustee's
 * upstream test `kbs.toml` (from shared/testdata, Apache-2.0) adapted to a temp dir, loopback
 * port 0 and plain HTTP; admin credentials from `trustee keygen` / `trustee token`; resources and
 * the resource policy set with `trustee client config …` (the admin API, as an operator would).
 * Shared by confidential_image_e2e_test.ts and containerd_trustee_e2e_test.ts.
 */
import assert from "node:assert/strict";
import { parse, stringify } from "smol-toml";
import { makeTokenPki } from "../certs.ts";
import { makeAdminCredentials, runDeno, startDeno, type Started } from "../harness.ts";

/** Trustee's upstream test config. */
export const UPSTREAM_KBS_CONFIG = new URL(
  "../../../shared/testdata/trustee/kbs/test/config/kbs.toml",
  import.meta.url,
);
/** True when the upstream config is beside the checkout. */
export const haveKbsConfig = await Deno.stat(UPSTREAM_KBS_CONFIG).then(() => true, () => false);

const TRUSTEE = "dist/trustee.js";

/** A running trustee and its admin client. */
export interface TestTrustee {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  process: Started;
  /** `trustee client config set-resource` with `bytes` at `path` (`default/x/1`). */
  setResource(path: string, bytes: Uint8Array): Promise<void>;
  /** `trustee client config set-resource-policy` with the Rego text. */
  setResourcePolicy(rego: string): Promise<void>;
}

async function adaptConfig(work: string): Promise<string> {
  const text = (await Deno.readTextFile(UPSTREAM_KBS_CONFIG)).replaceAll("./work", work);
  const cfg = parse(text) as Record<string, Record<string, unknown>>;
  cfg.http_server!.sockets = ["127.0.0.1:0"];
  cfg.http_server!.insecure_http = true;
  await Deno.writeTextFile(`${work}/kbs.toml`, stringify(cfg));
  return `${work}/kbs.toml`;
}

/**
 * Starts `trustee serve` with its state under `work` (run from the repository root: it uses
 * `dist/trustee.js`). The caller stops `process`.
 */
export async function startTestTrustee(work: string): Promise<TestTrustee> {
  await makeTokenPki(work);
  await makeAdminCredentials(TRUSTEE, work);
  const process = await startDeno({
    name: "trustee",
    args: ["run", "-A", TRUSTEE, "serve", "-c", await adaptConfig(work)],
    ready: /trustee listening on (http:\/\/\S+)/,
  });
  const url = process.match[1]!;
  const admin = trusteeAdmin(TRUSTEE, url, `${work}/admin-token`);
  return {
    url,
    process,
    async setResource(path, bytes) {
      const file = `${work}/res-${path.replaceAll("/", "_")}`;
      await Deno.writeFile(file, bytes);
      await admin("set-resource", "--path", path, "--resource-file", file);
    },
    async setResourcePolicy(rego) {
      await Deno.writeTextFile(`${work}/resource-policy.rego`, rego);
      await admin("set-resource-policy", "--policy-file", `${work}/resource-policy.rego`);
    },
  };
}

/**
 * `trustee client --url <url> config --admin-token-file <file> <args…>` with `entry` (a bundle or
 * trustee/main.ts); asserts success and returns stdout.
 */
export function trusteeAdmin(
  entry: string,
  url: string,
  tokenFile: string,
): (...args: string[]) => Promise<string> {
  return async (...args) => {
    const r = await runDeno([
      "run",
      "-A",
      entry,
      "client",
      "--url",
      url,
      "config",
      "--admin-token-file",
      tokenFile,
      ...args,
    ]);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
}
