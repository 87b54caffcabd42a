/**
 * `trustee`: the workload owner's key broker. Subcommands: serve, client, policy, verify, keygen, token.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { generateAdminKeyPair, mintAdminToken } from "./admin/mod.ts";
import { clientCommand } from "./client/cli.ts";
import { policyCommand } from "./policy/cli.ts";
import { serveCommand } from "./serve_cli.ts";
import { verifyCommand } from "./verifier/cli.ts";

const program = new Command("trustee")
  .description("CoCo Deno trustee: KBS protocol, attestation service, reference values, admin")
  .version("0.1.0")
  .showHelpAfterError();

program.addCommand(serveCommand());
program.addCommand(clientCommand());
program.addCommand(policyCommand());
program.addCommand(verifyCommand());

program.command("keygen")
  .description("write an Ed25519 admin key pair (PKCS#8 private key, SPKI .pub)")
  .option("-f, --file <file>", "private key path", "admin-key.pem")
  .action(async (o) => {
    const pair = await generateAdminKeyPair();
    await Deno.writeTextFile(o.file, pair.privateKeyPem, { mode: 0o600 });
    await Deno.writeTextFile(`${o.file}.pub`, pair.publicKeyPem);
    console.log(`wrote ${o.file} and ${o.file}.pub`);
  });

program.command("token")
  .description("mint an admin bearer token (JWT with role) from a private key")
  .requiredOption("-k, --key <file>", "private key PEM (Ed25519 or EC)")
  .option("--role <role>", "role claim", "admin")
  .option("--issuer <iss>", "iss claim", "trustee")
  .option("--audience <aud>", "aud claim")
  .option("--ttl <seconds>", "lifetime in seconds", "86400")
  .action(async (o) => {
    const token = await mintAdminToken(await Deno.readTextFile(o.key), {
      role: o.role,
      issuer: o.issuer,
      ...(o.audience ? { audience: o.audience } : {}),
      ttlSeconds: Number(o.ttl),
    });
    console.log(token);
  });

if (import.meta.main) {
  try {
    await program.parseAsync(Deno.args, { from: "user" });
  } catch (err) {
    console.error(`trustee: ${(err as Error).message}`);
    Deno.exit(1);
  }
}
