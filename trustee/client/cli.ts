/**
 * `trustee client …`: the upstream `kbs-client` command surface (spec/trustee.md §3.5).
 * The sample attester is used only when asked (`--sample`), never as a silent fallback.
 */
import { Command } from "@commander-js/extra-typings";
import { KbsClient } from "@coco/lib/kbs/client";
import { teeKeyFromPem } from "@coco/lib/jose";
import { sampleEvidenceProvider } from "@coco/lib/tee";
import { AdminClient } from "./admin_client.ts";
import { samplePolicy } from "../kbs/resource_policy.ts";

async function adminToken(file: string | undefined): Promise<string | undefined> {
  const candidates = file
    ? [file]
    : ["./kbs/config/docker-compose/admin-token", `${Deno.env.get("HOME")}/.trustee/admin-token`];
  for (const f of candidates) {
    try {
      return (await Deno.readTextFile(f)).trim();
    } catch (err) {
      if (file) throw new Error(`Cannot read admin token file ${file}: ${(err as Error).message}`);
    }
  }
  return undefined;
}

function out(text: string) {
  console.log(text);
}

export function clientCommand(): Command {
  const client = new Command("client")
    .description("talk to a KBS as a guest (attest, get-resource) or as its admin (config …)")
    .option("--url <url>", "KBS root URL", "http://127.0.0.1:8080")
    .option("--cert-file <pem>", "root CA certificate for HTTPS");

  const caCert = async () => {
    const f = client.opts().certFile;
    return f ? await Deno.readTextFile(f) : undefined;
  };
  const guest = async (
    opts: { teeKeyFile?: string; sample?: boolean; sampleDevice?: boolean },
    initData?: string,
  ) => {
    if (!opts.sample) {
      throw new Error(
        "no hardware attester is available in `trustee client`; pass --sample to use the sample TEE (development only)",
      );
    }
    const ca = await caCert();
    return new KbsClient({
      url: client.opts().url,
      evidence: sampleEvidenceProvider({ withDevice: opts.sampleDevice ?? false }),
      ...(opts.teeKeyFile
        ? { teeKey: await teeKeyFromPem(await Deno.readTextFile(opts.teeKeyFile)) }
        : {}),
      ...(initData !== undefined ? { initData } : {}),
      ...(ca ? { caCert: ca } : {}),
    });
  };

  client.command("attest")
    .description("attest and print the token")
    .option("--tee-key-file <pem>", "TEE private key (PEM)")
    .option("--sample", "use the sample TEE attester")
    .option("--sample-device", "add sampledevice evidence")
    .argument("[init-data]", "init-data TOML text")
    .action(async (initData, opts) => {
      const c = await guest(opts, initData);
      try {
        out(await c.attest());
      } finally {
        c.close();
      }
    });

  client.command("get-resource")
    .description("fetch a resource and print it base64-encoded")
    .requiredOption("--path <repo/type/tag>", "resource path")
    .option("--tee-key-file <pem>", "TEE private key (PEM)")
    .option("--attestation-token <file>", "use this token (passport mode; needs --tee-key-file)")
    .option("--sample", "use the sample TEE attester")
    .option("--sample-device", "add sampledevice evidence")
    .argument("[init-data]", "init-data TOML text")
    .action(async (initData, opts) => {
      if (opts.attestationToken) {
        if (!opts.teeKeyFile) throw new Error("--attestation-token needs --tee-key-file");
        const { decryptResource, parseFlattenedJwe } = await import("@coco/lib/jose");
        const key = await teeKeyFromPem(await Deno.readTextFile(opts.teeKeyFile));
        const token = (await Deno.readTextFile(opts.attestationToken)).trim();
        const admin = new AdminClient({
          url: client.opts().url,
          token,
          ...(await caCert() ? { caCert: (await caCert())! } : {}),
        });
        try {
          const res = await admin.request("GET", `/kbs/v0/resource/${opts.path}`);
          out(
            (await decryptResource(
              parseFlattenedJwe(await res.json()),
              key.privateKey,
              key.privateJwk,
            )).toBase64(),
          );
        } finally {
          admin.close();
        }
        return;
      }
      const c = await guest({ ...opts, sample: opts.sample ?? false }, initData);
      try {
        out((await c.getResource(`/kbs/v0/resource/${opts.path}`)).toBase64());
      } finally {
        c.close();
      }
    });

  const config = client.command("config")
    .description("admin operations")
    .option("--admin-token-file <file>", "bearer token for the admin API");
  const admin = async () => {
    const ca = await caCert();
    const token = await adminToken(config.opts().adminTokenFile);
    return new AdminClient({
      url: client.opts().url,
      ...(token ? { token } : {}),
      ...(ca ? { caCert: ca } : {}),
    });
  };
  const withAdmin = async (f: (a: AdminClient) => Promise<void>) => {
    const a = await admin();
    try {
      await f(a);
    } finally {
      a.close();
    }
  };

  config.command("set-resource")
    .requiredOption("--path <repo/type/tag>")
    .requiredOption("--resource-file <file>")
    .action((o) =>
      withAdmin(async (a) => a.setResource(o.path, await Deno.readFile(o.resourceFile)))
    );
  config.command("delete-resource")
    .requiredOption("--path <repo/type/tag>")
    .action((o) => withAdmin((a) => a.deleteResource(o.path)));
  config.command("set-resource-policy")
    .option("--policy-file <file>")
    .option("--allow-all")
    .option("--deny-all")
    .option("--affirming")
    .option("--default")
    .action((o) =>
      withAdmin(async (a) => {
        const chosen =
          [o.policyFile, o.allowAll, o.denyAll, o.affirming, o.default].filter(Boolean).length;
        if (chosen !== 1) {
          throw new Error(
            "give exactly one of --policy-file, --allow-all, --deny-all, --affirming, --default",
          );
        }
        const text = o.policyFile ? await Deno.readTextFile(o.policyFile) : await samplePolicy(
          o.allowAll ? "allow_all" : o.denyAll ? "deny_all" : o.affirming ? "affirming" : "default",
        );
        await a.setResourcePolicy(text);
      })
    );
  config.command("set-attestation-policy")
    .requiredOption("--policy-file <file>")
    .option("--type <type>", "policy type", "rego")
    .option("--id <id>", "policy id", "default_cpu")
    .action((o) =>
      withAdmin(async (a) => a.setAttestationPolicy(o.id, await Deno.readTextFile(o.policyFile)))
    );
  config.command("set-sample-reference-value")
    .argument("<name>")
    .argument("<value>")
    .option("--as-integer")
    .option("--as-bool")
    .option("--as-single-value")
    .action((name, value, o) =>
      withAdmin(async (a) => {
        let v: unknown = value;
        if (o.asInteger) {
          v = Number(value);
          if (!Number.isInteger(v)) throw new Error(`--as-integer: ${value} is not an integer`);
        } else if (o.asBool) {
          if (value !== "true" && value !== "false") {
            throw new Error(`--as-bool: ${value} is not true or false`);
          }
          v = value === "true";
        }
        await a.setSampleReferenceValue(name, o.asSingleValue ? v : [v]);
      })
    );
  config.command("get-reference-value")
    .requiredOption("--id <id>")
    .action((o) => withAdmin(async (a) => out(JSON.stringify(await a.getReferenceValue(o.id)))));
  return client;
}
